"""C2PA Content Credentials: a signed statement of how the media was made and edited.

Read offline with c2pa-python: a manifest stored on a remote server is reported, never fetched,
because fetching it would tell that server (often the platform hosting the abuse) that this media
is being examined, and would make the scan depend on the network. Certificate revocation (OCSP)
is not fetched either, for the same reasons.
"""

from __future__ import annotations

import io
import json
import re
from functools import cache

from detection.engine.indicators import vocabulary
from detection.engine.indicators.base import IMAGE, VIDEO, Indicator, MediaContext, register

NO_MANIFEST = "No Content Credentials (C2PA manifest) are embedded; most media has none."
REMOTE_ONLY = ("The file points to Content Credentials stored on a remote server ({url}); they were not "
               "fetched, so nothing is known about them.")
UNREADABLE_MANIFEST = "Content Credentials are present but could not be read: {error}"
UNSUPPORTED_TYPE = "Content Credentials are not read from this type of file."
UNPARSABLE = "The file's structure could not be parsed to look for Content Credentials."
DECLARED = "Content Credentials: {declaration}."
BROKEN = ("Content Credentials are present but do not verify ({codes}): the file was changed after "
          "signing or the credentials were tampered with.")
EDITED = "Signed Content Credentials record edits: {actions}."
NO_DECLARATION = "Signed Content Credentials verify and declare nothing suggesting generation or manipulation."

WEAKNESSES = (
    "Content Credentials say what the signer declares; this system checks the signature and that "
    "the file was not changed since, but does not check the signer against a trust list. Almost all "
    "media carry none, and re-saving, screenshots and most uploads strip them, so their absence means "
    "nothing. A broken credential can also come from harmless re-saving by software that keeps the "
    "manifest but rewrites the file."
)

# c2pa-rs settings: verify what is embedded, fetch nothing.
OFFLINE_SETTINGS = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}

# Failure codes that only say the signer is not on a trust list: no trust list is configured
# here, so every signer (even a genuine camera maker's) would be "untrusted".
UNTRUSTED_CODES = {"signingCredential.untrusted", "cawg.x509.credential.untrusted"}
INTEGRITY_FAILURE_SCORE = 0.7  # pixels or claim changed after signing: a strong sign of tampering
COMPOSITE_ACTION_SCORE = 0.5  # another image was placed into this one
EDIT_ACTION_SCORE = 0.2  # ordinary edits (crop, colour): common and mostly harmless
COMPOSITE_ACTIONS = {"c2pa.placed"}
EDIT_ACTIONS = {"c2pa.edited", "c2pa.filtered", "c2pa.color_adjustments", "c2pa.cropped", "c2pa.resized",
                "c2pa.orientation", "c2pa.drawing", "c2pa.transcoded", "c2pa.repackaged", "c2pa.removed",
                "c2pa.converted"}
_REMOTE_URL = re.compile(r"https?://\S+")
_REMOTE_ERROR = re.compile(r"\s*remote(manifest)?\b", re.IGNORECASE)


@cache
def _offline_context():
    import c2pa

    return c2pa.Context.from_dict(OFFLINE_SETTINGS)


def read_manifest_store(data: bytes, content_type: str) -> dict | None:
    """The manifest store as c2pa-python's JSON, or None when there is none. Raises ``RemoteManifest``
    when the file only points to a remote manifest."""
    import c2pa

    try:
        reader = c2pa.Reader.try_create(content_type or None, io.BytesIO(data), context=_offline_context())
    except c2pa.C2paError as error:
        # c2pa 0.38 raises a plain C2paError ("Remote: must fetch remote manifests from url …")
        # rather than its RemoteManifest subclass, so the message is what tells them apart.
        if isinstance(error, c2pa.C2paError.RemoteManifest) or _REMOTE_ERROR.match(str(error)):
            match = _REMOTE_URL.search(str(error))
            raise RemoteManifest(match.group(0) if match else "") from None
        raise
    if reader is None:
        return None
    with reader:
        return json.loads(reader.json())


class RemoteManifest(Exception):
    def __init__(self, url: str):
        super().__init__(url)
        self.url = url


def _agent(action: dict) -> str | None:
    agent = action.get("softwareAgent")
    if isinstance(agent, dict):
        return agent.get("name")
    return agent


def declarations(store: dict) -> list[dict]:
    """Every action of every manifest in the store (the active one and its ingredients' ones)."""
    found = []
    for label, manifest in store.get("manifests", {}).items():
        for assertion in manifest.get("assertions", []):
            if not assertion.get("label", "").startswith("c2pa.actions"):
                continue
            for action in assertion.get("data", {}).get("actions", []):
                entry = {"manifest": label, "active": label == store.get("active_manifest"),
                         "assertion": assertion["label"], "action": action.get("action"), "software": _agent(action)}
                if action.get("digitalSourceType"):
                    entry["digital_source_type"] = vocabulary.source_type(action["digitalSourceType"]).code
                found.append(entry)
    return found


def failures(store: dict) -> list[dict]:
    """Validation failures of the active manifest and of its ingredients, less "untrusted signer"."""
    results = store.get("validation_results") or {}
    found = [{"where": "active manifest", **item} for item in (results.get("activeManifest") or {}).get("failure", [])]
    for delta in results.get("ingredientDeltas", []):
        for item in (delta.get("validationDeltas") or {}).get("failure", []):
            found.append({"where": delta.get("ingredientAssertionURI", "ingredient"), **item})
    if not results:  # older stores report a flat list
        found = [{"where": "manifest store", **item} for item in store.get("validation_status", [])]
    return [item for item in found if item.get("code") not in UNTRUSTED_CODES]


def _generator(manifest: dict) -> str | None:
    info = manifest.get("claim_generator_info") or []
    if info:
        return ", ".join(f"{item.get('name', '?')} {item.get('version', '')}".strip() for item in info)
    return manifest.get("claim_generator")


@register
class ContentCredentials(Indicator):
    name = "c2pa_content_credentials"
    version = "1"
    applies_to = frozenset({IMAGE, VIDEO})
    meaning = NO_MANIFEST
    weaknesses = WEAKNESSES

    def measure(self, context: MediaContext):
        import c2pa

        try:
            store = read_manifest_store(context.data, context.content_type)
        except RemoteManifest as remote:
            return self.not_applicable(REMOTE_ONLY.format(url=remote.url or "unknown"), remote_manifest=remote.url)
        except (c2pa.C2paError, ValueError) as error:  # the native library's error kind leads its message
            message = str(error)
            if message.startswith("NotSupported"):
                return self.not_applicable(UNSUPPORTED_TYPE, error=message)
            if message.startswith(("Io", "Other: asset could not be parsed")):
                return self.not_applicable(UNPARSABLE, error=message)
            return self.not_applicable(UNREADABLE_MANIFEST.format(error=message), error=message)
        if store is None:
            return self.not_applicable(NO_MANIFEST)

        active = store.get("manifests", {}).get(store.get("active_manifest"), {})
        actions = declarations(store)
        broken = failures(store)
        signature = active.get("signature_info") or {}
        value = {
            "manifest_present": True,
            "validation_state": store.get("validation_state"),
            "valid": not broken,
            "signer_trusted": store.get("validation_state") == "Trusted",
            "validation_failures": [item["code"] for item in broken],
            "claim_generator": _generator(active),
            "signer": signature.get("common_name") or signature.get("issuer"),
            "signed_at": signature.get("time"),
            "digital_source_types": sorted({a["digital_source_type"] for a in actions if "digital_source_type" in a}),
            "actions": sorted({a["action"] for a in actions if a["action"]}),
        }
        evidence = {"active_manifest": store.get("active_manifest"), "failures": broken,
                    "declarations": [a for a in actions if "digital_source_type" in a or a["action"] in
                                     COMPOSITE_ACTIONS | EDIT_ACTIONS]}

        score, meaning = 0.0, NO_DECLARATION
        for code in value["digital_source_types"]:
            declared = vocabulary.SOURCE_TYPES.get(code)
            if declared and declared.score > score:
                score, meaning = declared.score, DECLARED.format(declaration=declared.meaning)
        if broken and INTEGRITY_FAILURE_SCORE > score:
            score, meaning = INTEGRITY_FAILURE_SCORE, BROKEN.format(codes=", ".join(value["validation_failures"]))
        elif broken:
            meaning += " " + BROKEN.format(codes=", ".join(value["validation_failures"]))
        composite = sorted(set(value["actions"]) & COMPOSITE_ACTIONS)
        edits = sorted(set(value["actions"]) & EDIT_ACTIONS)
        if composite and COMPOSITE_ACTION_SCORE > score:
            score, meaning = COMPOSITE_ACTION_SCORE, EDITED.format(actions=", ".join(composite + edits))
        elif edits and EDIT_ACTION_SCORE > score:
            score, meaning = EDIT_ACTION_SCORE, EDITED.format(actions=", ".join(edits))
        return self.result(value=value, score=score, evidence=evidence, meaning=meaning)
