"""Distillation training: config (:mod:`.config`), Lightning module (:mod:`.module`),
checkpoints (:mod:`.checkpoints`), the run driver (:mod:`.run`) and its CLI (:mod:`.cli`).

Nothing is imported here, so that importing :mod:`.config` stays light."""
