"""Embed lfw-dev in resumable chunks of 200 photos (sorted by name), then merge them into `evaluate`'s cache.

On a busy machine `evaluate --cache` may take longer than one sitting (Dlib: about 0.3 s of CPU a photo); this
does the same embedding (evaluation.embed_photos) a chunk at a time, any number of processes sharing the work,
and `merge` writes the chunks done so far as an .npz `evaluate` and bench/levers.py read (a partial cache holds
whole alphabetical runs of names).

  FACEREC_MODEL=Dlib nice -n 10 .venv/bin/python bench/embed_chunks.py 0 2 &   # chunks 0, 2, 4, ...
  FACEREC_MODEL=Dlib nice -n 10 .venv/bin/python bench/embed_chunks.py 1 2 &   # chunks 1, 3, 5, ...
  FACEREC_MODEL=Dlib .venv/bin/python bench/embed_chunks.py merge data/lfw-embeddings-dlib.npz
"""

import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import REPO  # noqa: E402

LFW = REPO.parent / "shared" / "lfw-dev"
CHUNK = 200


def main() -> None:
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facerec.settings")
    import django

    django.setup()
    from entries import conf
    from entries.recognition import evaluation

    model = conf.get("MODEL")
    folder = REPO / "data" / f"chunks-{model}"
    folder.mkdir(parents=True, exist_ok=True)
    labelled = evaluation.read_pairs(LFW / "pairs.csv")
    ids = evaluation.read_identities(LFW / "identities.csv")
    names = sorted({n for a, b, *_ in labelled for n in (a, b)} | set(ids))
    chunks = [names[i:i + CHUNK] for i in range(0, len(names), CHUNK)]
    if sys.argv[1] == "merge":
        merged = evaluation.Embedded()
        done = [c for c in range(len(chunks)) if (folder / f"{c:03d}.npz").exists()]
        for c in done:
            part = np.load(folder / f"{c:03d}.npz", allow_pickle=False)
            meta = json.loads(str(part["meta"]))
            for name, vector, quality in zip(meta["names"], part["vectors"], part["quality"], strict=True):
                merged.vectors[name], merged.quality[name] = vector, tuple(quality)
            merged.no_face += meta["no_face"]
            merged.unreadable += meta["unreadable"]
            merged.seconds += list(part["seconds"])
        keys = list(merged.vectors)
        np.savez(sys.argv[2], model=model, scale=1.0, vectors=np.stack([merged.vectors[k] for k in keys]),
                 quality=np.array([merged.quality[k] for k in keys]), seconds=np.array(merged.seconds),
                 meta=json.dumps({"names": keys, "no_face": merged.no_face, "unreadable": merged.unreadable}))
        print(f"{model}: {len(done)} of {len(chunks)} chunks, {len(keys)} photos embedded, {len(merged.no_face)} "
              f"without a face -> {sys.argv[2]}")
        return
    shard, shards = int(sys.argv[1]), int(sys.argv[2])
    for c in range(shard, len(chunks), shards):
        if (folder / f"{c:03d}.npz").exists():
            continue
        embedded = evaluation.embed_photos(chunks[c], LFW)
        keys = list(embedded.vectors)
        partial = folder / f"{c:03d}.part.npz"
        np.savez(partial, vectors=np.stack([embedded.vectors[k] for k in keys]),
                 quality=np.array([embedded.quality[k] for k in keys]), seconds=np.array(embedded.seconds),
                 meta=json.dumps({"names": keys, "no_face": embedded.no_face, "unreadable": embedded.unreadable}))
        os.replace(partial, folder / f"{c:03d}.npz")  # a chunk is there whole or not at all
        print(f"chunk {c} of {len(chunks)}", flush=True)


if __name__ == "__main__":
    main()
