"""Running a bundle: its format, the interpreters, the word search, the word list, the
blocklist and the conformance vectors. No TensorFlow here: this room and the ones it imports
(text, history, ngram, typing, common) are all that an app-side process loads."""
