"""A StopNCII exchange for HMA and python-threatexchange that reads a Reclaim organisation's hash feed.

Copy this file next to your HMA omm_config (README of Reclaim, "For platforms"). It is python-threatexchange's
own StopNCIISignalExchangeAPI with two changes:

1. Records whose hashStatus is Withdrawn or Deleted are deletions. python-threatexchange 1.2.17 decides that
   by comparing the record's hashValue (not its hashStatus) with those statuses, so a withdrawn hash stays in
   HMA's bank and keeps matching; here it is removed, as StopNCII's client documents ("Should be deleted by
   client").
2. Its own name, "reclaim": HMA keeps one set of credentials per exchange type, so a platform that also reads
   StopNCII itself keeps both. The credentials are StopNCII's: "FUNCTION_KEY,SUBSCRIPTION_KEY,BASE_URL".

Needs only python-threatexchange (tested with 1.2.17).
"""

import typing as t

from threatexchange.exchanges import fetch_state
from threatexchange.exchanges.clients.stopncii import api
from threatexchange.exchanges.impl import stop_ncii_api

GONE = (api.StopNCIICaseStatus.Withdrawn, api.StopNCIICaseStatus.Deleted)


class ReclaimSignalExchangeAPI(stop_ncii_api.StopNCIISignalExchangeAPI):
    """HMA's name for it: "reclaim"."""

    def fetch_iter(self, _supported_signal_types, checkpoint) -> t.Iterator[fetch_state.FetchDelta]:
        start = checkpoint.update_time if checkpoint is not None else api.StopNCIIAPI.DEFAULT_START_TIME
        for result in self.api.fetch_hashes_iter(start_timestamp=start):
            updates = {}
            for record in result.hashRecords:
                key, metadata = stop_ncii_api._get_delta_mapping(record)
                if key[0]:  # a signal type HMA knows (ImagePDQ, VideoMD5)
                    updates[key] = None if record.hashStatus in GONE else metadata
            yield fetch_state.FetchDelta(updates, stop_ncii_api.StopNCIICheckpoint.from_stopncii_fetch(result))
