"""From a student's message to one reply, with no Telegram in sight.

- ``responder``: the one decision per message (safeguarding, small talk, a job or an entry,
  "I don't know") and the replies built from entries;
- ``query``: a message read once (canonical words, meaning vector, sentences and clauses);
- ``encoder``: the offline sentence encoder (all-MiniLM-L6-v2, int8 ONNX) and its vector cache;
- ``lexical`` / ``semantic`` / ``matching``: the word channel, the meaning channel, and the
  calibrated decision that fuses them;
- ``routing``: whether a message is about a job (the occupational maps) or a topic;
- ``safeguarding``: disclosures recognised by phrase and by meaning, by category;
- ``smalltalk``: "thanks", "bye", "lol" answered with one line;
- ``evaluation``: ``careers-bot eval``'s scoring of labelled questions.
"""
