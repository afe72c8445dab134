"""Pages of the degrees module."""

from flask import Blueprint

bp = Blueprint("degrees", __name__, url_prefix="/degrees")
