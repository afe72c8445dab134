"""Pages of the exams module."""

from flask import Blueprint

bp = Blueprint("exams", __name__, url_prefix="/exams")
