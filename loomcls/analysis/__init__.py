"""Analysis of trained classifiers: class-activation maps (Grad-CAM, Grad-CAM++)."""

from .cam import (METHODS, GradCAM, TokenReshape, classifier_scores, default_target_layers, get_layer,
                  token_grid)

__all__ = ["GradCAM", "TokenReshape", "METHODS", "classifier_scores", "default_target_layers", "get_layer",
           "token_grid"]
