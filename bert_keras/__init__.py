"""bert_keras: BERT for TensorFlow 2 and Keras 3, from raw strings to TF Serving and TFLite.

    from bert_keras import BertEncoder, BertTokenizer
    tokenizer = BertTokenizer.from_pretrained(path)
    encoder = BertEncoder.from_pretrained(path)
    outputs = encoder(tokenizer(["first text"], seq_length=128))
"""

import os as _os

# oneDNN roughly doubles TF's fp32 matmul speed on x86 CPUs (see benchmarks); it only takes effect if set
# before TensorFlow is first imported. A user's explicit setting wins.
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from bert_keras import configs  # noqa: E402
from bert_keras.checkpoints import load_checkpoint, save_google_checkpoint  # noqa: E402
from bert_keras.models import (BertClassifier, BertEncoder, BertPretrainer, BertSpanQA,  # noqa: E402
                               BertTextEmbedder, BertTokenClassifier)
from bert_keras.optimizers import FusedAdamW, WarmupLinearDecay, create_optimizer  # noqa: E402
from bert_keras.preprocessing import BertTextPreprocessor  # noqa: E402
from bert_keras.text.bert_tokenizer import BertTokenizer  # noqa: E402
from bert_keras.text.vocab import learn_vocab  # noqa: E402

__version__ = "0.1.0"
__all__ = ["FusedAdamW", "WarmupLinearDecay", "create_optimizer", "BertClassifier", "BertEncoder", "BertPretrainer", "BertSpanQA", "BertTextEmbedder", "BertTextPreprocessor", "BertTokenClassifier", "BertTokenizer", "configs", "learn_vocab", "load_checkpoint", "save_google_checkpoint"]
