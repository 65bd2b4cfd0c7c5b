"""Reports for units and districts (应训未训): who has not met the year's 学时, as JSON or
xlsx (`unit`, `districts`, `xlsx`), and who may read a unit's report (`access`)."""
