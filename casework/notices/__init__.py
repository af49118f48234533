"""Notice regimes: one module each, with its checklist of required elements, its template, its form
and the fields it keeps. ``casework.services.notices.notice_generate`` is the one way to issue one."""

from casework.notices import delisting, dmca, dsa, gdpr, take_it_down
from casework.notices.base import Element, NoticeDraft, NoticeForm, RegimeNotice

REGIMES: dict[str, RegimeNotice] = {
    module.NOTICE.regime: module.NOTICE for module in (take_it_down, dmca, dsa, gdpr, delisting)
}

__all__ = ["REGIMES", "Element", "NoticeDraft", "NoticeForm", "RegimeNotice"]
