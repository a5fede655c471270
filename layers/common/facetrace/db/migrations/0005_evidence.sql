-- Issue #10: the evidence is what was matched, identical bytes alert once, every failure says where.
-- depends: 0004_searches 0004_subscriptions

-- sha256: of the bytes ingest checked and pinned (written once under the photo's key).
-- dedup_key: claims those bytes for one photo ('sighting:<sha>' or 'reference:<case>:<sha>'); a later upload of
-- the same bytes finds it and becomes a 'duplicate' linked through duplicate_of. Cleared on erasure, so bytes
-- uploaded again after retention are processed afresh.
-- failed_stage: where a 'failed' photo stopped (fetch, decode, faces, match, ingest, pipeline ...).
ALTER TABLE photos
    MODIFY status ENUM('received', 'processed', 'rejected', 'failed', 'duplicate') NOT NULL,
    ADD COLUMN sha256 CHAR(64) NULL,
    ADD COLUMN dedup_key VARCHAR(120) NULL,
    ADD COLUMN duplicate_of CHAR(36) NULL,
    ADD COLUMN failed_stage VARCHAR(32) NULL,
    ADD UNIQUE KEY ux_photos_dedup (dedup_key),
    ADD KEY ix_photos_duplicate_of (duplicate_of);

-- Writes to an upload key after its photo was recorded (a ticket used twice, a replaced upload): refused,
-- their bytes deleted, and kept here so an investigator can see that someone tried.
CREATE TABLE refused_uploads (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    photo_id CHAR(36) NOT NULL,
    sha256 CHAR(64) NULL,
    size_bytes BIGINT NULL,
    reason VARCHAR(300) NOT NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    KEY ix_refused_uploads_photo (photo_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
