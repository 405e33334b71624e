"""Why a model said what it said: token attributions, attention views, their faithfulness, and pictures.

    from bert_keras.explain import integrated_gradients, html_report
    explanations = integrated_gradients(classifier, ["a gorgeous, witty film"])
    html_report(explanations, "report.html")
"""

from bert_keras.explain.attention import attention_maps, attention_rollout, rollout
from bert_keras.explain.attributions import gradient_x_input, integrated_gradients, integration_points
from bert_keras.explain.explain_texts import (METHODS, explain_texts, explain_with_saved_model,
                                             load_model_to_explain, write_explanations)
from bert_keras.explain.explanation import Explanation
from bert_keras.explain.faithfulness import faithfulness
from bert_keras.explain.report import attention_grid_png, html_report, rollout_png, text_heatmap_png

__all__ = ["Explanation", "METHODS", "attention_grid_png", "attention_maps", "attention_rollout", "explain_texts",
           "explain_with_saved_model", "faithfulness", "load_model_to_explain", "gradient_x_input", "html_report", "integrated_gradients",
           "integration_points", "rollout", "rollout_png", "text_heatmap_png", "write_explanations"]
