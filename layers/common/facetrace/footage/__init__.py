"""Footage (issue #14): video clips from agencies and their cameras, searched for missing people.

A clip is uploaded like a photo (a presigned POST, or a multipart upload when large) and recorded as a photo of
kind `footage` whose parts are jobs; the worker decodes a part, samples frames, follows each face across them (a
track) and sends the tracks; once every part is done the tracks of one person close in time become one
appearance, and each appearance is a sighting photo (its best frame) searched and alerted like any other: one
alert per (appearance, case).

    clip.py         clips, cameras, parts, appearances, the store interface, the header rules
    ingest.py       an uploaded clip: checked from its header, pinned, split into part jobs
    results.py      progress and part results from the worker; the clip's appearances, searched and alerted
    appearances.py  joining tracks into appearances
    tickets.py      upload tickets for agencies and cameras, camera registration
    views.py        what an agency sees: a clip's progress and appearances, an alert's stretch of video
    retention.py    erasing footage after retention
"""
