"""Run as a script: loads a SavedModel the way TF Serving does (TF1 session loader) and with tf.saved_model.load,
feeds each signature its inputs, and writes every output to an .npz for the test to compare.

    python load_in_fresh_process.py SAVED_MODEL FEEDS_JSON OUT_NPZ

FEEDS_JSON is {signature: {input name: [texts]}}; outputs are stored as "tf1/<signature>/<output>" and
"tf2/<signature>/<output>".
"""

import json
import sys

import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers FastBertNormalize / FastWordpieceTokenizeWithOffsets)


def main(path, feeds_json, out_path):
    with open(feeds_json, encoding="utf-8") as f:
        feeds = json.load(f)
    results = {}
    with tf.compat.v1.Session(graph=tf.Graph()) as sess:
        meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], path)
        for name, feed in feeds.items():
            sig = meta.signature_def[name]
            out = sess.run({k: v.name for k, v in sig.outputs.items()},
                           {sig.inputs[k].name: v for k, v in feed.items()})
            results.update({f"tf1/{name}/{k}": v for k, v in out.items()})
    loaded = tf.saved_model.load(path)
    for name, feed in feeds.items():
        out = loaded.signatures[name](**{k: tf.constant(v) for k, v in feed.items()})
        results.update({f"tf2/{name}/{k}": v.numpy() for k, v in out.items()})
    # String outputs come back as object arrays; store them as fixed-width bytes (no pickle needed to read).
    np.savez(out_path, **{k: (np.asarray(v.tolist(), dtype="S") if v.dtype == object else v)
                          for k, v in results.items()})


if __name__ == "__main__":
    main(*sys.argv[1:])
