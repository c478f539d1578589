"""Every pool's jsonb codec (``shared.db``) writes through ``shared.jsontext`` and reads with ``json.loads``: what a
consumer stores is what it reads back, even where orjson alone would change it."""

from shared import db

VALUE = {
    "big": 2**70,  # orjson refuses it; json.dumps writes it; jsonb keeps it exact, and json.loads reads it so
    "words": "Zoë — paged at 04:00 ✓",
    "when": "2026-12-04T04:00:00+00:00",
    "nested": [{"level": 1, "ratio": 0.1, "none": None, "flag": True}],
    "7": "a key that was an integer",
}


async def test_a_jsonb_value_reads_back_exactly_as_it_was_written(database_url):
    pool = await db.create_pool(database_url, "jsonb_codec")
    try:
        async with pool.acquire() as conn:
            back = await conn.fetchval("SELECT $1::jsonb", VALUE)
            text = await conn.fetchval("SELECT ($1::jsonb ->> 'words')", VALUE)
            big = await conn.fetchval("SELECT ($1::jsonb -> 'big')::numeric", VALUE)
            keyed = await conn.fetchval("SELECT $1::jsonb", {7: "x"})
    finally:
        await pool.close()
    assert back == VALUE
    assert text == VALUE["words"]
    assert big == 2**70
    assert keyed == {"7": "x"}
