"""The signed-in front door: an HTTP API for case systems and pages for practitioners and
managers (`cpplan serve`). Who decided comes from the sign-in, never from the request body."""
