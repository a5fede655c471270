-- Issue #14: footage. A clip is a `photos` row of kind 'footage' (its life cycle: received, processed, rejected,
-- duplicate, failed, erased, as for any upload, so receipts, dead letters and the sweep apply); what is special
-- to video lives here. Each appearance of a person in a clip becomes a sighting photo (its best frame) with one
-- face, so alerts stay one per (sighting, case): one per (appearance, case).
-- depends: 0005_evidence

ALTER TABLE photos MODIFY kind ENUM('sighting', 'reference', 'search', 'footage') NOT NULL;

-- A camera an agency registered; it asks for tickets with its key, of which only the SHA-256 is kept.
CREATE TABLE cameras (
    id CHAR(36) NOT NULL PRIMARY KEY,
    agency_id CHAR(36) NOT NULL,
    name VARCHAR(300) NOT NULL,
    place VARCHAR(300) NOT NULL,
    lat DOUBLE NULL,
    lon DOUBLE NULL,
    key_hash CHAR(64) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    revoked_at DATETIME(6) NULL,
    CONSTRAINT fk_cameras_agency FOREIGN KEY (agency_id) REFERENCES agencies (id),
    KEY ix_cameras_agency (agency_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- One row per clip ticket (written when the ticket is issued: the photo row follows when the upload arrives);
-- the header's facts once ingest has probed it.
CREATE TABLE footage (
    id CHAR(36) NOT NULL PRIMARY KEY,
    agency_id CHAR(36) NOT NULL,
    camera_id CHAR(36) NULL,
    s3_key VARCHAR(300) NOT NULL,
    started_at DATETIME(6) NOT NULL,
    place VARCHAR(300) NULL,
    lat DOUBLE NULL,
    lon DOUBLE NULL,
    content_type VARCHAR(100) NOT NULL,
    container VARCHAR(100) NULL,
    codec VARCHAR(32) NULL,
    width INT NULL,
    height INT NULL,
    fps DOUBLE NULL,
    duration_s DOUBLE NULL,
    frames_total BIGINT NULL,
    parts INT NOT NULL DEFAULT 0,
    created_at DATETIME(6) NOT NULL,
    erased_at DATETIME(6) NULL,
    CONSTRAINT fk_footage_agency FOREIGN KEY (agency_id) REFERENCES agencies (id),
    KEY ix_footage_agency (agency_id, created_at),
    KEY ix_footage_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- A clip's parts (each one job): queued -> done or failed (with the stage and reason), and the worker's counts.
CREATE TABLE footage_parts (
    clip_id CHAR(36) NOT NULL,
    part INT NOT NULL,
    start_s DOUBLE NOT NULL,
    end_s DOUBLE NOT NULL,
    status ENUM('queued', 'done', 'failed') NOT NULL DEFAULT 'queued',
    stage VARCHAR(32) NULL,
    reason VARCHAR(1000) NULL,
    frames_total INT NOT NULL DEFAULT 0,
    frames_done INT NOT NULL DEFAULT 0,
    frames_sampled INT NOT NULL DEFAULT 0,
    faces_found INT NOT NULL DEFAULT 0,
    tracks INT NOT NULL DEFAULT 0,
    model JSON NULL,
    updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (clip_id, part),
    CONSTRAINT fk_footage_parts_clip FOREIGN KEY (clip_id) REFERENCES footage (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The face tracks a part found (the Track message, embedding included), until the clip is erased.
CREATE TABLE footage_tracks (
    clip_id CHAR(36) NOT NULL,
    part INT NOT NULL,
    track INT NOT NULL,
    data MEDIUMTEXT NOT NULL,
    PRIMARY KEY (clip_id, part, track),
    CONSTRAINT fk_footage_tracks_clip FOREIGN KEY (clip_id) REFERENCES footage (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- One row per appearance: its sighting photo (the best frame, with one face) and where it is in the clip.
CREATE TABLE footage_appearances (
    sighting_id CHAR(36) NOT NULL PRIMARY KEY,
    clip_id CHAR(36) NOT NULL,
    number INT NOT NULL,
    model_name VARCHAR(100) NOT NULL,
    start_s DOUBLE NOT NULL,
    end_s DOUBLE NOT NULL,
    best_s DOUBLE NOT NULL,
    tracks JSON NOT NULL,
    box JSON NOT NULL,
    still_key VARCHAR(300) NULL,
    path JSON NOT NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    KEY ix_footage_appearances_clip (clip_id, number),
    CONSTRAINT fk_footage_appearances_clip FOREIGN KEY (clip_id) REFERENCES footage (id) ON DELETE CASCADE,
    CONSTRAINT fk_footage_appearances_photo FOREIGN KEY (sighting_id) REFERENCES photos (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
