"""Search latency and recall@1: exact in-process NumPy against pgvector HNSW, same vectors, same run.

Run: .venv/bin/python bench/search.py --embeddings EMBEDDINGS.npz [--sizes 10000,100000,1000000]
     [--m 16] [--ef-construction 64] [--ef-search 40,100,200] [--postgres URL]

The gallery is drawn from a Gaussian with the mean and full covariance of real embeddings of the
model (EMBEDDINGS.npz: `manage.py evaluate --cache EMBEDDINGS.npz` on lfw-dev), so it has their
anisotropy rather than isotropic noise. Each query is an enrolled vector plus noise at the level of
a real second photo of the same person (median genuine similarity, also measured from the file).
recall@1 is measured against exact search. pgvector needs the extension (scripts/install-pgvector.sh).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from entries.recognition.vectors import normalise as unit  # noqa: E402  (pure NumPy: no Django needed)


def fitted(path):
    """Mean, covariance factor and the noise scale of a same-person photo, from real embeddings."""
    stored = np.load(path)
    vectors = unit(stored["vectors"])
    names = json.loads(str(stored["meta"]))["names"]
    people = [n.split("/")[-2] for n in names]
    same = [vectors[i] @ vectors[i + 1] for i in range(len(names) - 1) if people[i] == people[i + 1]]
    genuine = float(np.median(same))
    dim = vectors.shape[1]
    noise = np.sqrt((1 / genuine**2 - 1) / dim)  # |v + e| cosine to v is about genuine
    covariance = np.cov(vectors, rowvar=False)
    return vectors.mean(0), np.linalg.cholesky(covariance + 1e-6 * np.eye(dim)), noise, genuine, str(stored["model"])


def gallery(size, mean, factor, rng):
    return unit(mean + rng.normal(size=(size, len(mean))) @ factor.T)


def queries(vectors, count, noise, rng):
    picks = rng.choice(len(vectors), count, replace=False)
    return picks, unit(vectors[picks] + rng.normal(scale=noise, size=(count, vectors.shape[1])))


def exact_top1(matrix, query):
    return int(np.argmax(matrix @ query))


def timed_all(function, items):
    out, seconds = [], []
    for item in items:
        start = time.perf_counter()
        out.append(function(item))
        seconds.append(time.perf_counter() - start)
    return out, np.array(seconds) * 1000


def literal(vector):
    return "[" + ",".join(f"{x:.7g}" for x in vector) + "]"


def pgvector_run(url, vectors, probes, truth, m, ef_construction, ef_searches):
    import psycopg

    dim = vectors.shape[1]
    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute("SELECT count(*) FROM pg_available_extensions WHERE name='vector'").fetchone()[0]:
            return None
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute("DROP TABLE IF EXISTS bench_vectors")
        conn.execute(f"CREATE TABLE bench_vectors (id int PRIMARY KEY, embedding vector({dim}))")
        with conn.cursor().copy("COPY bench_vectors (id, embedding) FROM STDIN") as copy:
            for i, vector in enumerate(vectors):
                copy.write_row((i, literal(vector)))
        start = time.perf_counter()
        conn.execute("SET maintenance_work_mem = '4GB'")
        conn.execute("SET max_parallel_maintenance_workers = 1")
        conn.execute(f"CREATE INDEX ON bench_vectors USING hnsw (embedding vector_cosine_ops) "
                     f"WITH (m = {m}, ef_construction = {ef_construction})")
        build = time.perf_counter() - start
        conn.execute("ANALYZE bench_vectors")
        query = "SELECT id FROM bench_vectors ORDER BY embedding <=> %s::vector LIMIT 1"
        results = []
        for ef in ef_searches:
            conn.execute(f"SET hnsw.ef_search = {ef}")
            conn.execute(query, [literal(probes[0])])
            found, ms = timed_all(lambda q: conn.execute(query, [literal(q)]).fetchone()[0], probes)
            results.append((ef, ms, float(np.mean(np.array(found) == truth))))
        conn.execute("DROP TABLE bench_vectors")
    return results, build


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--embeddings", required=True, help="An evaluate --cache file of real embeddings.")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=64)
    parser.add_argument("--ef-search", default="40,100,200")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    mean, factor, noise, genuine, model = fitted(args.embeddings)
    print(f"{model} embeddings ({len(mean)}-d): Gaussian with their mean and covariance; queries at the median "
          f"same-person similarity {genuine:.3f}; HNSW m={args.m}, ef_construction={args.ef_construction}")
    print(f"{'enrolled':>9} {'backend':<24}{'p50 ms':>9}{'p95 ms':>9}{'recall@1':>10}{'vs exact p50':>14}  notes")
    for size in (int(s) for s in args.sizes.split(",")):
        vectors = gallery(size, mean, factor, rng)
        picks, probes = queries(vectors, args.queries, noise, rng)
        truth, exact_ms = timed_all(lambda q, matrix=vectors: exact_top1(matrix, q), probes)
        truth = np.array(truth)
        e50 = np.median(exact_ms)
        print(f"{size:>9} {'exact (NumPy)':<24}{e50:9.2f}{np.percentile(exact_ms, 95):9.2f}{1.0:10.3f}"
              f"{1.0:13.2f}x  nearest is the query's own enrolled vector for {np.mean(truth == picks):.0%}")
        try:
            result = pgvector_run(args.postgres, vectors, probes, truth, args.m, args.ef_construction,
                                  [int(e) for e in args.ef_search.split(",")])
        except Exception as exc:  # no server here: say so, keep the exact numbers
            result, reason = None, f"PostgreSQL: {exc}"
        else:
            reason = "pgvector extension not installed"
        if result is None:
            print(f"{size:>9} {'pgvector HNSW':<24}  skipped ({reason})")
            continue
        runs, build = result
        for ef, ms, recall in runs:
            p50 = np.median(ms)
            print(f"{size:>9} {'pgvector, ef_search ' + str(ef):<24}{p50:9.2f}{np.percentile(ms, 95):9.2f}"
                  f"{recall:10.3f}{e50 / p50:13.2f}x  index built in {build:.0f} s; includes the round trip")


if __name__ == "__main__":
    main()
