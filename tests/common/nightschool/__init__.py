"""A made-up app, 夜校 (night school), declared only by its manifest: the tests install it
with one line in INSTALLED_APPS and find its pages, API, tile, console entry, seeder, figure
and export section, with no shared file edited."""
