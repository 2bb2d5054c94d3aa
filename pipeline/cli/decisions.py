"""`glassbox decisions`: the decision record that `glassbox serve` keeps (pipeline/serving/store.py). Show one decision
with its adverse-action notice, verify the chain (and each model's digest against ML Metadata), purge what is past
retention. The record is found as every command finds the metadata store: from `--config` (serving.decisions) and
`--output` (default <output>/decisions.sqlite)."""

from __future__ import annotations

import argparse
import json
import os


def _config(args: argparse.Namespace):
    from pipeline.config import load_config

    return load_config(args.config, output_dir=args.output)


def open_decisions(config):
    """The config's decision record (`serving.decisions`), its password from `serving.password_env`."""
    from pipeline.serving.store import open_store

    return open_store(config.decisions_location, password=os.environ.get(config.serving.password_env) or None)


def _short(digest: str) -> str:
    return f"{digest[:12]}..." if len(digest) > 15 else digest


def _details(record) -> list[str]:
    lines = [f"Decision {record.id} (record {record.seq}, {record.time})",
             f"  model        artifact {record.model_id}, sha256 {_short(record.model_sha256)}"]
    payload = record.payload
    if payload is None:
        lines.append(f"  purged       {record.purged_at} (tombstone {_short(record.tombstone or '')})")
    else:
        score = payload.get("score")
        lines.append(f"  decision     {payload.get('decision', '(none)')}"
                     + (f", score {score:.3f}" if isinstance(score, (int, float)) else ""))
        policies = payload.get("policies")
        if isinstance(policies, dict) and policies:
            lines.append("  policies     " + ", ".join(f"{name} {_short(str(digest))}"
                                                      for name, digest in sorted(policies.items())))
        inputs = payload.get("inputs")
        if isinstance(inputs, dict) and inputs:
            lines.append("  inputs       " + ", ".join(f"{name}={value}" for name, value in sorted(inputs.items())))
        attributions = payload.get("attributions")
        if isinstance(attributions, dict) and isinstance(attributions.get("values"), dict):
            attributions = attributions["values"]  # the engine's {"method", "base_value", "values"}
        if isinstance(attributions, dict) and attributions and all(
                isinstance(v, (int, float)) for v in attributions.values()):
            top = sorted(attributions.items(), key=lambda item: -abs(item[1]))[:5]
            lines.append("  attributions " + ", ".join(f"{name} {value:+.3f}" for name, value in top)
                         + (f" (top 5 of {len(attributions)})" if len(attributions) > 5 else ""))
    lines.append(f"  hash         {record.hash} (follows {_short(record.prev_hash)})")
    return lines


def cmd_decisions_show(args: argparse.Namespace) -> int:
    """One decision as recorded, and the adverse-action notice it gives the applicant."""
    from pipeline.serving.notice import adverse_action_notice

    with open_decisions(_config(args)) as store:
        record = store.get(args.id)
        if record is None:
            raise LookupError(f"No decision {args.id} in the decision record {store.description}.")
    if args.json:
        print(json.dumps(record.to_json(), indent=2, sort_keys=True))
        return 0
    print("\n".join(_details(record)))
    print()
    print(adverse_action_notice(record))
    return 0


def _mlmd_digests(config):
    """(artifact id -> its sealed sha256 in ML Metadata, what was asked and found), or (None, why not) when there is
    no metadata store to ask."""
    from pipeline import metadata
    from pipeline.records.integrity import sealed_digest

    if config.metadata.kind == "sqlite" and not config.metadata_path.is_file():
        return None, f"no metadata store at {config.metadata_path}"
    try:
        store = metadata.open_store(config)
    except metadata.MetadataStoreError as error:
        return None, str(error).rstrip(".")
    found: dict[int, str | None] = {}

    def digest(artifact_id: int) -> str | None:
        found[artifact_id] = sealed_digest(store, artifact_id)
        return found[artifact_id]

    return digest, found


def cmd_decisions_verify(args: argparse.Namespace) -> int:
    """Every hash and link of the chain, every tombstone's signature, and each model's digest against ML Metadata."""
    from pipeline.serving.store import ALERTS, KEY_ENV, OUTCOMES, decisions_key

    config = _config(args)
    with open_decisions(config) as store:
        digests, found = _mlmd_digests(config)
        problems = store.verify(digests, decisions_key(config.output_dir, create=False))
        count, _ = store.head()
        chains = [(f"{chain.noun} chain", what, *store.verify_chain(chain))
                  for chain, what in ((ALERTS, "monitoring alert(s)"), (OUTCOMES, "outcome(s)"))]
    problems = [*problems, *(p for *_, found in chains for p in found)]
    alerts = "".join(f"; {count} {what}, {name} {'broken' if found else 'intact'}"
                     for name, what, count, found in chains if count or found)
    for problem in problems:
        print(f"  {problem}")
    if digests is None:
        models = f"model digests not checked: {found}"
    else:
        sealed = sum(d is not None for d in found.values())
        models = (f"model digests checked against ML Metadata for {sealed} of {len(found)} model(s)"
                  + (" (the others are not in it, or not sealed)" if sealed < len(found) else ""))
    if problems:
        print(f"Decision record {store.description}: {count} record(s), {len(problems)} problem(s){alerts}; "
              f"{models}.")
        if any("no key" in str(p) for p in problems):
            print(f"  (tombstones are checked with ${KEY_ENV} or the key file that `glassbox decisions purge` used)")
        return 1
    print(f"Decision record {store.description}: {count} record(s), chain intact{alerts}; {models}.")
    return 0


def cmd_decisions_purge(args: argparse.Namespace) -> int:
    """Replaces the content of decisions older than the retention period by signed tombstones."""
    from pipeline.serving.store import KEY_ENV, KEY_FILE, decisions_key, retention_cutoff, utc_iso

    config = _config(args)
    cutoff = retention_cutoff(args.older_than)
    with open_decisions(config) as store:
        key = decisions_key(config.output_dir)  # made on first use, after the store was found
        purged = store.purge(cutoff, key)
    source = f"${KEY_ENV}" if os.environ.get(KEY_ENV) else config.output_dir / KEY_FILE
    print(f"Purged {purged} decision(s) recorded before {utc_iso(cutoff)} from {store.description}: each is now a "
          f"tombstone signed with the key in {source}, which `glassbox decisions verify` needs.")
    return 0
