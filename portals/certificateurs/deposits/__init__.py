"""Certificateurs' deposits of certification data (R13): the file formats and record checks
(`formats`, `checks`, pure Python), and the engine that receives, stores and processes them."""
