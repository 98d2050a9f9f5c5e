-- Version tables built with typed columns (d_<i> per dimension, a_<i> per aggregate) say so, so
-- that queries may push dimension filters down to them; older tables hold only the states.

ALTER TABLE tandem_view_versions ADD COLUMN typed boolean NOT NULL DEFAULT false;
