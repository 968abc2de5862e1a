"""Line-completion evaluation: generation and teacher-forced exact match, edit similarity, per category."""
