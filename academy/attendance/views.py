"""Pages of the attendance module."""

from flask import Blueprint

bp = Blueprint("attendance", __name__, url_prefix="/attendance")
