"""The decision service's HTTP face: FastAPI routes around the engine, the micro-batcher and the decision record.

    POST /v1/decisions          one applicant (a JSON object of raw values) or a list; the decisions, in order
    GET  /v1/decisions/{id}     a decision as recorded, with its adverse-action notice; 404 when unknown
    GET  /v1/model              what decisions are made with: model, policies, threshold, fields
    GET  /v1/monitoring         live monitoring: the window, each check's value, threshold and status
    POST /v1/outcomes           outcomes of earlier decisions ({decision_id, label}), for the outcome checks
    GET  /healthz               liveness, without a token
    GET  /metrics               Prometheus text: requests by route and status, latency, decisions by outcome, batches
    GET  /docs                  the OpenAPI page

Every route but /healthz needs `Authorization: Bearer <token>`, compared in constant time; a request without it is
answered 401 before its body is read, and records nothing. A POST body over `max_body_bytes` is refused (413) as it
arrives, before it is parsed; malformed JSON is a 400, an applicant that breaks the model's contract a 422 naming the
item and field. A decision is answered only once the transaction that recorded it committed: acknowledged means
durable. Nothing is recorded for a 4xx. Request bodies and applicants' values are never logged, nor echoed in errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import re
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match

from pipeline.config import ServingConfig
from pipeline.serving.batching import ClosedError, MicroBatcher, OverloadedError, RecordError
from pipeline.serving.metrics import CONTENT_TYPE, ServiceMetrics
from pipeline.serving.notice import adverse_action_notice
from pipeline.serving.store import DecisionStore

log = logging.getLogger("glassbox.serve")
TOKEN_ENV = "GLASSBOX_SERVE_TOKEN"
MIN_TOKEN_LENGTH = 16  # a guessable token is no protection; `openssl rand -hex 32` makes a good one
OPEN_PATHS = ("/healthz",)  # the only route without a token: a load balancer's probe has none
DECISION_ID = re.compile(r"^[0-9a-f]{32}$")


def _origin(error: BaseException) -> str:
    import traceback

    frames = traceback.extract_tb(error.__traceback__)[-2:]
    return " <- ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in reversed(frames))


class ServiceSetupError(ValueError):
    """The service cannot start as configured (no token, an unreadable token file): one sentence, exit 2."""


def read_token(token_file: Path | None = None) -> tuple[str, str]:
    """(the bearer token, where it came from): the file named (a mounted secret), else $GLASSBOX_SERVE_TOKEN. The token
    itself never appears in a message."""
    if token_file is not None:
        try:
            token, source = Path(token_file).read_text(encoding="utf-8").strip(), f"the file {token_file}"
        except FileNotFoundError:
            raise ServiceSetupError(f"The token file {token_file} does not exist.") from None
        except (OSError, UnicodeDecodeError) as error:
            raise ServiceSetupError(f"The token file {token_file} cannot be read ({type(error).__name__}).") from None
    else:
        token, source = os.environ.get(TOKEN_ENV, "").strip(), f"${TOKEN_ENV}"
    if not token:
        raise ServiceSetupError(
            f"glassbox serve needs a bearer token and found none in {source}: set {TOKEN_ENV} or name a secret file "
            f"with --token-file (serving.token_file), e.g. export {TOKEN_ENV}=$(openssl rand -hex 32)."
            if token_file is None else f"The token file {token_file} is empty: write the bearer token in it.")
    if len(token) < MIN_TOKEN_LENGTH or any(c.isspace() for c in token):
        raise ServiceSetupError(f"The bearer token in {source} is too short or holds spaces: use at least "
                                f"{MIN_TOKEN_LENGTH} characters without spaces (openssl rand -hex 32 makes one).")
    return token, source


def _json(content: Any, status: int = 200, headers: Dict[str, str] | None = None) -> Response:
    return Response(json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")), status,
                    headers, media_type="application/json")


def _error(status: int, message: str, loc: Sequence[Any] | None = None, headers: Dict[str, str] | None = None
           ) -> Response:
    """FastAPI's error shape ({"detail": ...}): a sentence, or for a 422 a list naming where (loc) and what (msg)."""
    if loc is None:
        return _json({"detail": message}, status, headers)
    return _json({"detail": [{"loc": ["body", *loc], "msg": message, "type": "value_error"}]}, status, headers)


class BearerAuth:
    """ASGI middleware: every path but OPEN_PATHS needs `Authorization: Bearer <token>`. Compared with
    hmac.compare_digest, so the time taken says nothing about how much of a guess was right."""

    def __init__(self, app, token: str):
        self.app, self._token = app, token.encode("utf-8")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            return await self.app(scope, receive, send)
        given = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, credentials = value.partition(b" ")
                if scheme.lower() == b"bearer":
                    given = credentials.strip()
                break
        if not given or not hmac.compare_digest(given, self._token):
            response = _error(401, "A valid bearer token is required (Authorization: Bearer <token>)." if not given
                              else "The bearer token is not valid.", headers={"WWW-Authenticate": "Bearer"})
            return await response(scope, receive, send)
        return await self.app(scope, receive, send)


class RequestMetrics:
    """ASGI middleware, outermost: counts every response by route template, method and status, and times it. 401s
    and 413s included; a route never named by a decision's id (the template stands for it)."""

    def __init__(self, app, metrics: ServiceMetrics, routes: Callable[[], Sequence]):
        self.app, self.metrics, self._routes = app, metrics, routes

    def _template(self, scope) -> str:
        for route in self._routes():
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return getattr(route, "path", "other")
        return "other"

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), [500]

        async def sending(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = self._template(scope)
            self.metrics.requests.inc(route, scope["method"], str(status[0]))
            self.metrics.latency.observe(time.perf_counter() - started, route)


class BadBodyError(Exception):
    """A request body that is too large (413) or not JSON (400); the message says which, and where."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is known to exceed `limit` bytes: by its Content-Length before anything is
    read, else (chunked) while it arrives, so a huge body is never held in memory."""
    too_large = BadBodyError(413, f"The request body is larger than {limit} bytes.")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


class _NotJSONError(ValueError):
    """NaN, Infinity or -Infinity: Python's json reads them, JSON has none."""


def _not_json(constant: str):
    raise _NotJSONError(f"{constant} is not a JSON value")


async def _read_json(request: Request, limit: int) -> Any:
    """The body as JSON: UTF-8 only (RFC 8259; json.loads would guess UTF-16 and 32 too), and no NaN or Infinity;
    BadBodyError otherwise."""
    body = await _read_body(request, limit)
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_not_json)
    except UnicodeDecodeError as error:
        raise BadBodyError(400, f"The request body is not UTF-8 text (byte {error.start}).") from None
    except json.JSONDecodeError as error:
        raise BadBodyError(400, f"The request body is not valid JSON: {error.msg} at line {error.lineno} column "
                                f"{error.colno}.") from None
    except _NotJSONError as error:
        raise BadBodyError(400, f"The request body is not valid JSON: {error}.") from None


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def create_app(engine, store: DecisionStore, token: str, settings: ServingConfig | None = None, *,
               reader: DecisionStore | None = None, metrics: ServiceMetrics | None = None,
               invalid: tuple[type[Exception], ...] = (ValueError,), monitor=None) -> FastAPI:
    """The service. `engine`: `decide(items) -> list of decision dicts` (each with `model.artifact_id` and
    `model.sha256`), and optionally `validate(items)` (raises without computing anything) and `describe()`.
    `store` records (the service appends from one thread); `reader`, another connection to the same record, answers
    GETs without waiting for appends (default: `store`). `invalid`: the engine's errors that mean the applicant is
    wrong (422), with `index` and `field` where it says them. `monitor`: the live monitor
    (pipeline/serving/live.py), fed each batch once it is recorded; None turns /v1/monitoring off (404). The caller
    opens and closes the stores."""
    settings = settings or ServingConfig()
    metrics = metrics or ServiceMetrics()
    reader = reader or store
    if not token:
        raise ValueError("the decision service needs a bearer token")

    def observe(records) -> None:
        try:  # after the commit: a monitoring failure never takes back a recorded decision
            monitor.observe(records)
        except Exception as error:  # noqa: BLE001 - logged by type and place, never a value
            metrics.failures.inc("monitor")
            log.error("live monitoring failed on a recorded batch: %s at %s", type(error).__name__, _origin(error))

    def record(decisions: List[dict]) -> List[dict]:
        records = store.append(decisions)
        if monitor is not None:  # watched on the monitor's thread, off the answer's path
            monitor.later(observe, records)
        return [{"decision_id": r.id, "recorded_at": r.time, **d} for r, d in zip(records, decisions)]

    batcher = MicroBatcher(engine.decide, record, max_items=settings.max_batch_items,
                           max_wait_s=settings.max_batch_wait_ms / 1000, metrics=metrics)
    describe = getattr(engine, "describe", None)
    described = describe() if callable(describe) else {}
    model = described.get("model") or {}
    if model:
        metrics.model.set(1, str(model.get("artifact_id")), str(model.get("sha256")))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        await batcher.start()
        try:
            yield
        finally:
            await batcher.close()  # what was accepted is decided and recorded before the process ends
            if monitor is not None:
                await run_in_threadpool(monitor.close)  # and watched, its alerts recorded

    fields = described.get("fields") or []
    applicant_schema = {"type": "object", "description": "One applicant's raw values, as in the training data (the "
                                                         "label left out).",
                        "properties": {name: {} for name in fields}, "additionalProperties": False}
    app = FastAPI(title="Glassbox decision service", version="1",
                  description="Scored, explained and recorded decisions from the pushed model. Every route but "
                              "/healthz needs `Authorization: Bearer <token>`.", lifespan=lifespan)
    app.state.batcher, app.state.metrics = batcher, metrics

    @app.post("/v1/decisions", summary="Decide one applicant or a list of them",
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
                  "oneOf": [applicant_schema, {"type": "array", "items": applicant_schema}]}}}}},
              responses={200: {"description": "The decision (or a list, in the request's order), each with its "
                                              "decision_id, score, decision, threshold, reasons, attributions, "
                                              "recourse, de-identified inputs, model and policies; recorded "
                                              "before it is returned."},
                         400: {"description": "The body is not JSON."},
                         401: {"description": "No valid bearer token."},
                         413: {"description": "The body or the list is too large."},
                         422: {"description": "An applicant breaks the model's contract (item and field named)."},
                         503: {"description": "Overloaded, shutting down, or the record could not be written: "
                                              "nothing was recorded."}})
    async def decide(request: Request) -> Response:
        try:
            data = await _read_json(request, settings.max_body_bytes)
        except BadBodyError as error:
            return _error(error.status, str(error))
        single = isinstance(data, dict)
        if not single and not isinstance(data, list):
            return _error(422, f"The body must be an applicant (a JSON object of raw values) or a list of them, "
                               f"not {_kind(data)}.", loc=[])
        items = [data] if single else data
        if not items:
            return _error(422, "The list is empty: send at least one applicant.", loc=[])
        if len(items) > settings.max_items_per_request:
            return _error(413, f"{len(items)} applicants in one request; at most {settings.max_items_per_request}.")
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                return _error(422, f"item {index} must be an applicant (a JSON object of raw values), not "
                                   f"{_kind(item)}.", loc=[index])
        validate = getattr(engine, "validate", None)
        try:
            if callable(validate):  # a schema check, no model: 30 us an applicant, on the loop for a few
                await run_in_threadpool(validate, items) if len(items) > 16 else validate(items)
            responses = await batcher.submit(items)
        except invalid as error:
            return _invalid(error, single)
        except OverloadedError as error:
            return _error(503, f"The service is overloaded ({error}); retry shortly.", headers={"Retry-After": "1"})
        except ClosedError:
            return _error(503, "The service is shutting down; retry on another replica or after the restart.")
        except RecordError as error:
            return _error(503, f"The decision could not be recorded, so it is not given ({error}); nothing was "
                               f"recorded. Retry shortly.", headers={"Retry-After": "1"})
        except Exception as error:  # noqa: BLE001 - the engine failed: say so, without its message (a value?)
            return _error(500, f"The decision could not be made ({type(error).__name__}); nothing was recorded.")
        for response in responses:
            metrics.decisions.inc(str(response.get("decision")))
        return _json(responses[0] if single else responses)

    def _invalid(error: Exception, single: bool) -> Response:
        index, field, problem = (getattr(error, name, None) for name in ("index", "field", "problem"))
        loc = ([] if single or index is None else [index]) + ([field] if field else [])
        # One applicant sent alone is no "item 0" to its sender.
        message = (f"field '{field}': {problem}" if field else problem) if single and problem else str(error)
        return _error(422, message, loc=loc)

    @app.get("/v1/decisions/{decision_id}", summary="A decision as recorded, with its adverse-action notice",
             responses={404: {"description": "No such decision."}, 401: {"description": "No valid bearer token."}})
    async def get_decision(decision_id: str) -> Response:
        record = await run_in_threadpool(reader.get, decision_id) if DECISION_ID.match(decision_id) else None
        if record is None:
            return _error(404, f"No decision {decision_id[:64]} in the decision record.")
        return _json({**record.to_json(), "notice": adverse_action_notice(record)})

    @app.get("/v1/model", summary="The model, policies, threshold and fields decisions are made with")
    async def get_model() -> Response:
        return _json(described)

    @app.post("/v1/outcomes", summary="Outcomes of earlier decisions: {decision_id, label} or a list of them",
              responses={200: {"description": "Recorded: how many, and how many of the live window's decisions now "
                                              "have outcomes."},
                         404: {"description": "A decision id is not in the record: nothing was recorded."},
                         409: {"description": "A decision already has its outcome: nothing was recorded."},
                         422: {"description": "Not {decision_id, label} with a 0/1 label."}})
    async def post_outcomes(request: Request) -> Response:
        try:
            data = await _read_json(request, settings.max_body_bytes)
        except BadBodyError as error:
            return _error(error.status, str(error))
        items = [data] if isinstance(data, dict) else data
        if not isinstance(items, list) or not items or len(items) > settings.max_items_per_request:
            return _error(422, f"The body must be an outcome {{decision_id, label}} or a list of 1 to "
                               f"{settings.max_items_per_request}.", loc=[])
        outcomes = []
        for index, item in enumerate(items):
            if not isinstance(item, dict) or set(item) != {"decision_id", "label"}:
                return _error(422, f"item {index} must be an object with decision_id and label, nothing else.",
                              loc=[index])
            label, decision_id = item["label"], item["decision_id"]
            if not isinstance(decision_id, str) or not DECISION_ID.match(decision_id):
                return _error(422, f"item {index}: decision_id must be a decision's id (32 hex digits).",
                              loc=[index, "decision_id"])
            if label not in (0, 1) or isinstance(label, float):
                return _error(422, f"item {index}: label must be 1 (the favourable outcome the model predicts) or "
                                   f"0.", loc=[index, "label"])
            outcomes.append((decision_id, int(label)))
        from pipeline.serving.store import OutcomeError

        try:
            found = await run_in_threadpool(store.record_outcomes, outcomes)
        except OutcomeError as error:
            return _error(404 if error.unknown else 409, str(error))
        labelled = None
        if monitor is not None:
            await asyncio.wrap_future(monitor.later(monitor.label, found))
            labelled = (await asyncio.wrap_future(monitor.later(monitor.snapshot)))["outcomes"]["labelled"]
        return _json({"recorded": len(found), "labelled_in_window": labelled})

    @app.get("/v1/monitoring", summary="Live monitoring: the window of recent decisions, each check's value, "
                                       "threshold and status, the checks alerting",
             responses={404: {"description": "Live monitoring is off."}})
    async def get_monitoring() -> Response:
        if monitor is None:
            return _error(404, "Live monitoring is off (serving.monitoring.enabled, or the model's run has no "
                               "training statistics).")
        return _json(await asyncio.wrap_future(monitor.later(monitor.snapshot)))

    @app.get("/healthz", summary="Liveness (no token needed)")
    async def healthz() -> Response:
        return _json({"status": "ok"})

    @app.get("/metrics", summary="Prometheus metrics (text format 0.0.4)")
    async def get_metrics() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    app.add_middleware(BearerAuth, token=token)
    app.add_middleware(RequestMetrics, metrics=metrics, routes=lambda: app.router.routes)
    return app
