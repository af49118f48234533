"""Scan a video: open it within limits, sample frames, follow faces across frames, hash frames (vPDQ).

Frames are sampled at a steady rate and also where the picture changes, so a face seen only briefly
after a cut is still looked at while a long static shot costs little. Faces are followed from sample
to sample (a track) and only the few best views of each track are embedded: embedding is the costly
step (about 0.1 s a face on one core) and more views of one face add little. A small face that HOG
only nearly finds is still followed when it persists and a second detector confirms it.

One module per step, imported by name (nothing is re-exported here):

- ``opening``: limits, recognising the container, opening and validating, the readable errors;
- ``sampling``: frame signatures, scene cuts, choosing the frames to look at;
- ``detecting``: HOG's faces and near misses on a sampled frame, and the CNN's second opinion;
- ``tracking``: pairing faces between samples, tracks and their best views;
- ``vpdq``: a hash per sampled frame and Meta's vPDQ comparison;
- ``scan``: ``scan_video``, the one call that does all of the above;
- ``bench``: CPU cost and identities found, against face_recognition's per-frame way.
"""
