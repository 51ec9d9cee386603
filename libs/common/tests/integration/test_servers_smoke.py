import nats
import psycopg


async def test_nats_server_answers_with_jetstream(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    info = await nc.jetstream().account_info()
    await nc.close()
    assert info.limits is not None


def test_fresh_database_is_empty(fresh_database_url: str) -> None:
    with psycopg.connect(fresh_database_url) as conn:
        rows = conn.execute(
            "select count(*) from information_schema.tables"
            " where table_schema not in ('pg_catalog', 'information_schema')"
        ).fetchone()
    assert rows == (0,)
