-- Issue #12 (5): a model change loses nobody. When the worker's pack changes, the reference photos of open
-- cases and the sightings within retention are embedded again with the new model (a re-embedding campaign),
-- both galleries are searched meanwhile, and the old embeddings are erased once the new gallery is complete.
-- depends: 0005_evidence

-- Which model has processed which photo, and what it found. A photo in which a model found no face has no
-- faces row of that model, so this is the only record that the model has seen it (a campaign is complete
-- when every photo it must cover has a row for the new model).
CREATE TABLE photo_models (
    photo_id CHAR(36) NOT NULL,
    model_name VARCHAR(100) NOT NULL,
    faces INT NOT NULL,
    usable INT NOT NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (photo_id, model_name),
    KEY ix_photo_models_model (model_name, photo_id),
    CONSTRAINT fk_photo_models_photo FOREIGN KEY (photo_id) REFERENCES photos (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- What the faces table already says (photos with no face found stay unrecorded: a campaign embeds them again).
INSERT INTO photo_models (photo_id, model_name, faces, usable)
    SELECT photo_id, model_name, COUNT(*), SUM(usable) FROM faces GROUP BY photo_id, model_name;

-- One campaign per model change. open_slot is 1 while the campaign runs and NULL once finished or cancelled:
-- the unique key allows one running campaign at a time (NULLs never collide). A cancelled campaign (a wrong
-- model named, a change rolled back) erased nothing.
CREATE TABLE reembed_campaigns (
    id CHAR(36) NOT NULL PRIMARY KEY,
    target_model VARCHAR(100) NOT NULL,
    started_at DATETIME(6) NOT NULL,
    references_queued INT NOT NULL DEFAULT 0,
    sightings_queued INT NOT NULL DEFAULT 0,
    completed_at DATETIME(6) NULL,
    erased_faces BIGINT NULL,
    cancelled_at DATETIME(6) NULL,
    open_slot TINYINT NULL DEFAULT 1,
    UNIQUE KEY ux_reembed_campaigns_open (open_slot)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- One row per photo a campaign queued: queued -> done (match stored the new model's faces) or failed (with the
-- stage and reason, from match, a dead-letter queue or the sweep). A failed photo is queued again by the next
-- `facetrace reembed start`; the photo itself keeps its status (it was processed, by the old model).
CREATE TABLE reembed_items (
    campaign_id CHAR(36) NOT NULL,
    photo_id CHAR(36) NOT NULL,
    kind ENUM('sighting', 'reference') NOT NULL,
    status ENUM('queued', 'done', 'failed') NOT NULL,
    stage VARCHAR(32) NULL,
    reason VARCHAR(1000) NULL,
    attempts INT NOT NULL DEFAULT 1,
    queued_at DATETIME(6) NOT NULL,
    finished_at DATETIME(6) NULL,
    PRIMARY KEY (campaign_id, photo_id),
    KEY ix_reembed_items_status (campaign_id, status),
    KEY ix_reembed_items_queued (status, queued_at),
    CONSTRAINT fk_reembed_items_campaign FOREIGN KEY (campaign_id) REFERENCES reembed_campaigns (id),
    CONSTRAINT fk_reembed_items_photo FOREIGN KEY (photo_id) REFERENCES photos (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
