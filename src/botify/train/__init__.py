"""Offline models trained from the service's logs and the public catalog, exported as artifacts.

``pipeline.train_model`` evaluates a model on a per-user time split beside TopPop, refits it on all the data and
saves its artifact; built-ins live in their own modules, plugins implement ``trainer.Trainer``.
"""
