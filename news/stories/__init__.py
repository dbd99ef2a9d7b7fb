"""One story, one post: grouping copies of a story published by several sources.

Provincial portals republish each other's articles within hours, with small
edits. Each new article gets a MinHash signature of its folded word shingles
(title + lead + body) and LSH band keys stored with an index
(:mod:`news.stories.fingerprint`, :mod:`news.stories.index`); a new article
that another source's recent article (within ``stories.window_hours``) matches
above ``stories.threshold`` joins its story (:mod:`news.stories.grouping`).

A chat whose route has ``dedupe_stories`` gets the story once: later copies
become "Also on" links on the existing post (news.models.StoryCopy, the
publishing side in :mod:`news.stories.copies`). Feeds keep every article and
cross-reference the copies. An editor can split a wrong group
(:mod:`news.stories.split`).
"""
