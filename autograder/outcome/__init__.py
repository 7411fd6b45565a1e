"""What a grading outcome is: the Results object, the feedback model every channel shows, and its pictures."""
