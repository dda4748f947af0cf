package bot

// ephemeralFeature builds the ephemeral feature. Not built yet: it contributes nothing.
func ephemeralFeature(featureDeps) (feature, error) { return feature{}, nil }
