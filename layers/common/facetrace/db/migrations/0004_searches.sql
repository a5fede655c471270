-- Issue #6: agencies search by photo. The search photo is a `photos` row of kind 'search' (so ingest, the
-- dead-letter recorder and the worker treat it like any upload); who asked and what was found live here.
-- A search photo's faces are never stored (no faces rows, no matches, no alerts): it is never searchable.
-- depends: 0003_review_audit

ALTER TABLE photos MODIFY kind ENUM('sighting', 'reference', 'search') NOT NULL;

CREATE TABLE searches (
    id CHAR(36) NOT NULL PRIMARY KEY,  -- also the id of its photo
    agency_id CHAR(36) NOT NULL,
    user_sub VARCHAR(200) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    completed_at DATETIME(6) NULL,
    CONSTRAINT fk_searches_agency FOREIGN KEY (agency_id) REFERENCES agencies (id),
    KEY ix_searches_agency (agency_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The top candidates of a search among the cases its agency could see when it ran, best first.
CREATE TABLE search_candidates (
    search_id CHAR(36) NOT NULL,
    ordinal SMALLINT NOT NULL,
    case_id CHAR(36) NOT NULL,
    reference_face_id BIGINT NOT NULL,
    face_index INT NOT NULL,
    score FLOAT NOT NULL,
    PRIMARY KEY (search_id, ordinal),
    CONSTRAINT fk_search_candidates_search FOREIGN KEY (search_id) REFERENCES searches (id) ON DELETE CASCADE,
    CONSTRAINT fk_search_candidates_case FOREIGN KEY (case_id) REFERENCES cases (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
