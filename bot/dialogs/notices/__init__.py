"""Notices: the compose dialog, the archive, and the texts and buttons the pushes share."""
