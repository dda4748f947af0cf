package bot

// promotionFeature builds the promotion feature. Not built yet: it contributes nothing.
func promotionFeature(featureDeps) (feature, error) { return feature{}, nil }
