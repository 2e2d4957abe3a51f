"""The `tailor` command line."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Tailor: conversational, generative hyper-personalization.",
                  no_args_is_help=True, add_completion=False)
catalog_app = typer.Typer(help="Manage the product catalog.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
train_app = typer.Typer(help="Train models from the shop's own data.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")
app.add_typer(train_app, name="train")
app.add_typer(keys_app, name="keys")


def _runtime():  # type: ignore[no-untyped-def]
    from app.db.migrate import upgrade
    from app.runtime import Runtime
    from app.settings import get_settings

    settings = get_settings()
    upgrade(settings.resolved_database_url)
    return Runtime.build(settings)


def _require_free_port(host: str, port: int) -> None:
    """Say plainly that the port is taken (instead of uvicorn's errno line after start-up)."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            typer.echo(f"error: cannot listen on {host}:{port} ({exc.strerror}): another "
                       f"program is using the port. Pick another one: `make demo PORT=8001` "
                       f"or `tailor serve --port 8001`.", err=True)
            raise typer.Exit(1) from exc


@app.command()
def serve(host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
          workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
          demo: Annotated[bool, typer.Option(help="Load the demo store and keys.")] = False,
          reload: Annotated[bool, typer.Option(help="Reload on code changes (dev).")] = False
          ) -> None:
    """Run the HTTP API and the web widget (with --demo, the demo store too)."""
    import uvicorn

    _require_free_port(host, port)

    from app.db.migrate import upgrade
    from app.settings import get_settings

    if demo:
        os.environ["TAILOR_LOAD_DEMO"] = "true"
    settings = get_settings()
    # Migrate once here so that several workers never race on the schema.
    upgrade(settings.resolved_database_url)
    os.environ["TAILOR_MIGRATE_ON_START"] = "false"
    if demo:
        from app.bootstrap import load_demo
        from app.runtime import Runtime

        get_settings.cache_clear()
        rt = Runtime.build(get_settings())
        keys = load_demo(rt)
        rt.close()
        base = f"http://{'localhost' if host in {'127.0.0.1', '0.0.0.0'} else host}:{port}"
        typer.echo(f"\n  Tailor demo store   {base}/\n  API docs            {base}/docs\n"
                   f"\n  Demo API keys (also in "
                   f"{settings.data_dir / 'demo_keys.json'}):")
        for role, key in keys.items():
            typer.echo(f"    {role:<10} {key}")
        typer.echo("")
    # proxy_headers off: uvicorn would otherwise take X-Forwarded-For from any local peer as
    # the client address; the app believes it only from TAILOR_TRUSTED_PROXIES.
    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, workers=workers,
                reload=reload, log_config=None, access_log=False, proxy_headers=False)


@app.command()
def demo(port: Annotated[int, typer.Option(help="TCP port.")] = 8000) -> None:
    """Serve the demo store with its chat widget on localhost."""
    serve(host="127.0.0.1", port=port, workers=1, demo=True, reload=False)


@app.command()
def worker(
    executor_id: Annotated[str, typer.Option(help="A stable id for this worker (worker-1, "
                                             "gpu-a): restarted with the same id, it resumes "
                                             "the jobs it was running when it died.")],
    queue: Annotated[list[str] | None, typer.Option(help="Queues to take jobs from "
                                                    "(repeat); default all.")] = None,
    import_: Annotated[list[str] | None, typer.Option("--import", help="Extra modules that "
                                                      "declare workflows.")] = None,
) -> None:
    """Run jobs (creatives, journeys) without serving HTTP. Use PostgreSQL
    (TAILOR_DATABASE_URL) and TAILOR_JOBS_IN_PROCESS=false on the API for several workers
    on several machines (docs/creatives.md "Jobs")."""
    from app.db.migrate import upgrade
    from app.jobs.worker import run
    from app.logging import configure_logging
    from app.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    upgrade(settings.resolved_database_url)
    typer.echo(f"worker {executor_id}: queues {', '.join(queue or []) or 'all'}", err=True)
    run(settings, queues=queue or (), executor_id=executor_id, modules=import_ or ())


@app.command()
def migrate() -> None:
    """Apply database migrations (also done by `serve`)."""
    from app.db.migrate import upgrade
    from app.settings import get_settings

    upgrade(get_settings().resolved_database_url)
    typer.echo("database is at the latest schema")


@catalog_app.command("import")
def catalog_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="A .csv or .jsonl file of items.")],
    report: Annotated[Path | None, typer.Option(help="Write the full report (every rejected "
                                                "row) as JSON here.")] = None,
    encoding: Annotated[str, typer.Option(help="The file's text encoding, e.g. latin-1 or "
                                          "cp1252. Never guessed.")] = "utf-8",
) -> None:
    """Insert or update items from a file; bad rows are reported, good ones kept.

    Every row is accounted for: accepted, or rejected with its line number and reasons
    (the same report as POST /v1/items/import).

    Exit codes: 0 every row accepted; 1 some rows rejected (the others are stored);
    2 nothing imported: the file cannot be read (format, encoding) or the command was
    misused.
    """
    from tqdm import tqdm

    from app.services import catalog
    from retrieval.catalog import CatalogFileError, check_file, detect_format, iter_file

    try:
        fmt = detect_format(file.name)
        # Decode the whole file first: an undecodable byte stops it before any row is stored.
        lines = check_file(file, encoding)
    except CatalogFileError as exc:
        typer.echo(f"error: {file}: {exc}", err=True)
        raise typer.Exit(2) from exc
    rt = _runtime()
    total = max(0, lines - (fmt == "csv"))
    with rt.sessions() as db, tqdm(total=total, unit="row", desc="importing") as bar:
        result = catalog.import_rows(db, iter_file(file, fmt, encoding), on_batch=bar.update)
    rt.close()
    typer.echo(f"{result.rows} rows: accepted {result.accepted} items, "
               f"rejected {len(result.rejected)} rows")
    for err in result.rejected[:20]:
        typer.echo(f"  line {err.row} ({err.item_id or 'no id'}): {'; '.join(err.reasons)}")
    if len(result.rejected) > 20:
        typer.echo(f"  ... {len(result.rejected) - 20} more"
                   + ("" if report else " (use --report FILE to get them all)"))
    if report:
        report.write_text(json.dumps(result.as_dict(), indent=2))
        typer.echo(f"report written to {report}")
    if result.rejected:
        raise typer.Exit(1)


@keys_app.command("create")
def keys_create(role: Annotated[str, typer.Argument(help="widget, marketer, developer, admin")],
                name: Annotated[str, typer.Option(help="A label for the key.")] = "") -> None:
    """Create an API key and print it (it is stored hashed and shown only once)."""
    from app.errors import ServiceError
    from app.services.auth import create_key

    rt = _runtime()
    try:
        with rt.sessions() as db:
            _, key = create_key(db, role, name)  # type: ignore[arg-type]
            db.commit()
    except ServiceError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(key)


@keys_app.command("list")
def keys_list() -> None:
    """List API keys: id, role, prefix, name, created, revoked (never the secrets)."""
    from app.services.auth import list_keys

    rt = _runtime()
    with rt.sessions() as db:
        for row in list_keys(db):
            revoked = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "live"
            typer.echo(f"{row.id:>5}  {row.role:<9}  {row.prefix}...  {revoked:<24}  "
                       f"{row.created_at:%Y-%m-%d %H:%M}  {row.name}")
    rt.close()


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="The id `tailor keys list` shows.")]
                ) -> None:
    """Revoke an API key (every worker stops accepting it within seconds). The last live
    admin key is refused."""
    from app.errors import ServiceError
    from app.services.auth import revoke_key

    rt = _runtime()
    try:
        with rt.sessions() as db:
            row = revoke_key(db, key_id, actor="cli")
            db.commit()
            typer.echo(f"revoked key {row.id} ({row.role}, {row.prefix}...)")
    except ServiceError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from exc
    finally:
        rt.close()


@train_app.command("preferences")
def train_preferences(
    events: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="JSONL of {customer_id, item_id, value, at, "
        "event_type}; default: the events in the service database.")] = None,
    out: Annotated[Path | None, typer.Option(help="Where to write the population model; "
                                             "default: <data_dir>/preferences")] = None,
    epochs: Annotated[int, typer.Option(min=1, max=500)] = 20,
    dim: Annotated[int, typer.Option(min=4, max=512)] = 32,
    cohorts: Annotated[int, typer.Option(min=1, max=256, help="k-means cohorts")] = 8,
    threads: Annotated[int | None, typer.Option(min=1, help="torch threads")] = None,
) -> None:
    """Pre-train the population model (cold start prior + cohorts) on historical
    interactions. Safe on a live shop: running API workers pick the new prior up within
    TAILOR_PREFERENCE_RELOAD_SECONDS, without a restart, and every existing customer's
    state is rebuilt into it from their events."""
    from app.services.training import train_population

    rt = _runtime()
    try:
        report = train_population(rt.settings, rt.sessions, events_file=events, out=out,
                                  epochs=epochs, dim=dim, cohorts=cohorts, threads=threads)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        rt.close()
    typer.echo(f"trained on {report['interactions']} interactions of {report['customers']} "
               f"customers over {report['items']} items; final loss {report['final_loss']:.4f}; "
               f"{report['cohorts']} cohorts; saved to {report['out']} (prior "
               f"{report['version']}; running workers switch to it without a restart)")


def main() -> None:
    sys.exit(app())


if __name__ == "__main__":
    main()
