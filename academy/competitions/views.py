"""Pages of the competitions module."""

from flask import Blueprint

bp = Blueprint("competitions", __name__, url_prefix="/competitions")
