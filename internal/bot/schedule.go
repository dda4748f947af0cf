package bot

// scheduleFeature builds the schedule feature. Not built yet: it contributes nothing.
func scheduleFeature(featureDeps) (feature, error) { return feature{}, nil }
