"""The catalogue: plans (培训项目), courses and chapters as the pages read them, and the
catalogue file format and its loader."""
