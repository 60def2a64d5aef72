"""The embedded backend behind `tripod serve`."""
