"""`glassbox serve`: the decision service (pipeline/serving/app.py) on the pushed model, or on a Model artifact named by
id, recording every decision in the decision record that `glassbox decisions` reads. The stores are found as every
command finds them: from `--config` and `--output`."""

from __future__ import annotations

import argparse
import copy
import os

SERVICE_LOGGER = "glassbox.serve"


def _log_config() -> dict:
    """uvicorn's logging, to stdout: under `glassbox`, descriptor 2 is TensorFlow's capture (pipeline/cli/__init__.py),
    and a service's log belongs on its standard output anyway. Access lines name method, path and status: never a
    body."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    for handler in config["handlers"].values():
        handler["stream"] = "ext://sys.stdout"
    config["loggers"][SERVICE_LOGGER] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def cmd_serve(args: argparse.Namespace) -> int:
    from pipeline.config import load_config
    from pipeline.serving.app import read_token

    config = load_config(args.config, output_dir=args.output)
    if args.model != "pushed" and not args.model.isdigit():
        raise ValueError(f"--model must be 'pushed' or a Model artifact id, not {args.model!r}.")
    token, token_source = read_token(args.token_file or config.serving.token_file)  # before anything slow
    host = args.host or config.serving.host
    port = config.serving.port if args.port is None else args.port
    if config.privacy_policy is not None:  # a local run's pseudonymization key: its pseudonyms are the model's
        from pipeline.runners.local_key import ensure_local_key

        ensure_local_key(config.privacy_policy, config.output_dir, create=False)

    import uvicorn

    from pipeline.serving.app import create_app
    from pipeline.serving.engine import Engine, InvalidApplicantError
    from pipeline.serving.store import open_store

    engine = Engine.from_store(config, None if args.model == "pushed" else int(args.model))
    password = os.environ.get(config.serving.password_env) or None
    with open_store(config.decisions_location, create=True, password=password) as store, \
            open_store(config.decisions_location, password=password) as reader:
        from pipeline.serving.live import live_monitor
        from pipeline.serving.metrics import ServiceMetrics

        metrics = ServiceMetrics()
        monitor = live_monitor(engine.served, config, store, metrics)
        app = create_app(engine, store, token, config.serving, reader=reader, invalid=(InvalidApplicantError,),
                         metrics=metrics, monitor=monitor)
        model = engine.describe()["model"]
        print(f"Serving model {model['artifact_id']} (sha256 {str(model['sha256'])[:12]}...) at http://{host}:{port} "
              f"(OpenAPI page: /docs); decisions recorded in {store.description}; bearer token from {token_source}.",
              flush=True)
        uvicorn.run(app, host=host, port=port, log_config=_log_config(), access_log=not args.no_access_log,
                    timeout_graceful_shutdown=30)
    return 0
