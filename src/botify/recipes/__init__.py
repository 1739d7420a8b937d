"""Recipes: end-to-end jobs composed from the lab's parts (demo, seminar, calibration, tuning, coverage study).

They sit on top of everything else: a recipe may import any layer, no layer imports a recipe.
"""
