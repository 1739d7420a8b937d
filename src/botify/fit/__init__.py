"""Fit a world to logs: the user model's parameters from the service's logs and the public catalog alone."""

from botify.fit.data import FitData, read_fit_data
from botify.fit.world_fit import FitDiagnostics, FitSettings, FittedWorld, fit_world, write_fitted_world

__all__ = ["FitData", "FitDiagnostics", "FitSettings", "FittedWorld", "fit_world", "read_fit_data",
           "write_fitted_world"]
