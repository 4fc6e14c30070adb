"""The command centre's desk (指挥台): signing in without passwords. ``models`` holds the
one-time sign-in links and the web sessions, ``policy`` how long each lasts, ``service``
issuing, redeeming and ending them, ``privacy`` what deleting a person does here."""

from storage.desk.models import DeskLink, DeskSession, SignInProblem
from storage.desk.policy import DeskPolicy
from storage.desk.service import DeskAuth, Issued, Opened

__all__ = ["DeskAuth", "DeskLink", "DeskPolicy", "DeskSession", "Issued", "Opened", "SignInProblem"]
