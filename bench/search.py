"""Search latency and recall@1: exact in-process NumPy against pgvector HNSW, same vectors, same run.

Run: .venv/bin/python bench/search.py [--sizes 10000,100000,1000000] [--postgres URL]
Synthetic 128-d embeddings shaped like Dlib's (a shared mean direction, like real faces);
each query is an enrolled vector plus noise, as a new photo of an enrolled person would be.
recall@1 is measured against exact search. pgvector needs the extension (scripts/install-pgvector.sh).
"""

import argparse
import time

import numpy as np

DIM = 128
EF_SEARCH = 100  # as entries/pgvector.py sets it


def gallery(size, rng):
    mean = rng.normal(size=DIM)
    mean /= np.linalg.norm(mean)
    vectors = mean * 2.2 + rng.normal(size=(size, DIM))  # cosine between strangers about 0.83, as measured
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def queries(vectors, count, rng):
    picks = rng.choice(len(vectors), count, replace=False)
    noisy = vectors[picks] + rng.normal(scale=0.03, size=(count, DIM)).astype(np.float32)
    return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)


def exact_top1(matrix, query):
    scores = matrix @ query
    top = np.argpartition(-scores, 0)[:1]
    return int(top[0])


def timed_all(function, items):
    out, seconds = [], []
    for item in items:
        start = time.perf_counter()
        out.append(function(item))
        seconds.append(time.perf_counter() - start)
    return out, np.array(seconds) * 1000


def literal(vector):
    return "[" + ",".join(f"{x:.7g}" for x in vector) + "]"


def pgvector_run(url, vectors, probes, truth):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute("SELECT count(*) FROM pg_available_extensions WHERE name='vector'").fetchone()[0]:
            return None
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute("DROP TABLE IF EXISTS bench_vectors")
        conn.execute(f"CREATE TABLE bench_vectors (id int PRIMARY KEY, embedding vector({DIM}))")
        with conn.cursor().copy("COPY bench_vectors (id, embedding) FROM STDIN") as copy:
            for i, vector in enumerate(vectors):
                copy.write_row((i, literal(vector)))
        start = time.perf_counter()
        conn.execute("SET maintenance_work_mem = '2GB'")
        conn.execute("SET max_parallel_maintenance_workers = 1")
        conn.execute("CREATE INDEX ON bench_vectors USING hnsw (embedding vector_cosine_ops)")
        build = time.perf_counter() - start
        conn.execute("ANALYZE bench_vectors")
        conn.execute(f"SET hnsw.ef_search = {EF_SEARCH}")
        query = "SELECT id FROM bench_vectors ORDER BY embedding <=> %s::vector LIMIT 1"
        conn.execute(query, [literal(probes[0])])
        found, ms = timed_all(lambda q: conn.execute(query, [literal(q)]).fetchone()[0], probes)
        conn.execute("DROP TABLE bench_vectors")
    return ms, float(np.mean(np.array(found) == truth)), build


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'enrolled':>9} {'backend':<16}{'p50 ms':>9}{'p95 ms':>9}{'recall@1':>10}{'vs exact p50':>14}  notes")
    for size in (int(s) for s in args.sizes.split(",")):
        vectors = gallery(size, rng)
        probes = queries(vectors, args.queries, rng)
        truth, exact_ms = timed_all(lambda q, m=vectors: exact_top1(m, q), probes)
        truth = np.array(truth)
        e50 = np.median(exact_ms)
        print(f"{size:>9} {'exact (NumPy)':<16}{e50:9.2f}{np.percentile(exact_ms, 95):9.2f}{1.0:10.3f}{1.0:13.2f}x")
        try:
            result = pgvector_run(args.postgres, vectors, probes, truth)
        except Exception as exc:  # no server here: say so, keep the exact numbers
            result, reason = None, f"PostgreSQL: {exc}"
        else:
            reason = "pgvector extension not installed"
        if result is None:
            print(f"{size:>9} {'pgvector HNSW':<16}  skipped ({reason})")
            continue
        ms, recall, build = result
        p50 = np.median(ms)
        print(f"{size:>9} {'pgvector HNSW':<16}{p50:9.2f}{np.percentile(ms, 95):9.2f}{recall:10.3f}"
              f"{e50 / p50:13.2f}x  index built in {build:.0f} s; includes the client round trip")


if __name__ == "__main__":
    main()
