"""What a browser posts from an admin page: each field of its form as the page shows it.

Tests of a change page post this, with the fields the user edits changed, rather than a hand-built dict: a page
sends every field back, changed or not, and the bugs hide in the fields the user did not touch.
"""

from html.parser import HTMLParser

SKIPPED_INPUTS = {"file", "submit", "button", "image", "reset"}


class _FormReader(HTMLParser):
    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.inside, self.data = form_id, False, {}
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        name = attrs.get("name")
        if not self.inside:
            return
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in SKIPPED_INPUTS or (kind in ("checkbox", "radio") and "checked" not in attrs):
                return
            self.data[name] = attrs.get("value") or ("on" if kind in ("checkbox", "radio") else "")
        elif tag == "select" and name:
            self.select = name
        elif tag == "option" and self.select:
            if "selected" in attrs or self.select not in self.data:  # unselected: the first option is sent
                self.data[self.select] = attrs.get("value") or ""
        elif tag == "textarea" and name:
            self.textarea, self.data[name] = name, ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            self.data[self.textarea] += data.removeprefix("\n") if not self.data[self.textarea] else data


def form_data(response, form_id: str) -> dict[str, str]:
    """The fields of the form `form_id` on the page, as submitting it unchanged would send them."""
    reader = _FormReader(form_id)
    reader.feed(response.content.decode())
    return reader.data
