"""The base every schema model shares."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """A frozen pydantic model that rejects unknown fields.

    Recorded data is never changed after the fact, and a field this version does not know is
    a sign of a newer writer or a damaged file, never something to drop silently.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        use_attribute_docstrings=True,
        revalidate_instances="never",
        # JSON views (export, --json) carry bytes as URL-safe base64, and read them back so.
        ser_json_bytes="base64",
        val_json_bytes="base64",
    )
