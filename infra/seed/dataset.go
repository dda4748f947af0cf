package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// DefaultSeed is the fixed random seed: every environment seeded with it holds
// byte-identical sample data.
const DefaultSeed uint64 = 20240501

// Dataset sizes. They are part of the sample data's identity: changing one
// changes every environment's data on the next seed run.
const (
	customerCount = 400
	productCount  = 60
	orderCount    = 1500
	maxOrderLines = 4
)

// epoch anchors every generated timestamp, so data never depends on the clock.
var epoch = time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)

// Customer is one row of sample.customers.
type Customer struct {
	ID        int32
	Name      string
	Email     string
	City      string
	CreatedAt time.Time
}

// Product is one row of sample.products.
type Product struct {
	ID         int32
	SKU        string
	Name       string
	Category   string
	PriceCents int32
}

// Order is one row of sample.orders.
type Order struct {
	ID         int32
	CustomerID int32
	Status     string
	PlacedAt   time.Time
}

// OrderItem is one row of sample.order_items.
type OrderItem struct {
	OrderID        int32
	Line           int32
	ProductID      int32
	Quantity       int32
	UnitPriceCents int32
}

// Dataset is the complete sample data for one seed.
type Dataset struct {
	Customers  []Customer
	Products   []Product
	Orders     []Order
	OrderItems []OrderItem
}

var (
	firstNames = []string{
		"Amara", "Ben", "Chloé", "Dmitri", "Elif", "Farah", "Gustav", "Hana", "Ines", "Jonas",
		"Kofi", "Lena", "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tariq",
		"Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zofia",
	}
	lastNames = []string{
		"Okafor", "Schmidt", "Dubois", "Ivanova", "Yılmaz", "Haddad", "Lindqvist", "Tanaka", "García", "Novak",
		"Mensah", "Fischer", "Rossi", "Kowalska", "Berg", "Sharma", "Moreau", "Silva", "Nielsen", "Khan",
	}
	cities = []string{
		"Amsterdam", "Berlin", "Dublin", "Lisbon", "London", "Lyon", "Madrid", "Milan", "Oslo", "Porto",
		"Prague", "Stockholm", "Vienna", "Warsaw", "Zurich",
	}
	adjectives = []string{"Classic", "Compact", "Deluxe", "Everyday", "Lightweight", "Rugged", "Smart", "Travel", "Vintage", "Wireless"}
	categories = map[string][]string{
		"audio":   {"Headphones", "Speaker", "Turntable"},
		"kitchen": {"Kettle", "Grinder", "Toaster"},
		"outdoor": {"Backpack", "Lantern", "Tent"},
		"office":  {"Desk Lamp", "Notebook", "Chair"},
	}
	categoryOrder = []string{"audio", "kitchen", "office", "outdoor"}
)

// Generate builds the dataset for seed. The same seed always yields the same
// dataset: all randomness comes from one PCG source and no value depends on
// the clock, the map iteration order or the environment.
func Generate(seed uint64) Dataset {
	r := rand.New(rand.NewPCG(seed, 0x5eed5eed))
	var d Dataset

	for i := range customerCount {
		id := int32(i + 1)
		first := firstNames[r.IntN(len(firstNames))]
		last := lastNames[r.IntN(len(lastNames))]
		d.Customers = append(d.Customers, Customer{
			ID:        id,
			Name:      first + " " + last,
			Email:     fmt.Sprintf("%s.%s.%d@example.com", asciiLower(first), asciiLower(last), id),
			City:      cities[r.IntN(len(cities))],
			CreatedAt: epoch.Add(time.Duration(r.IntN(365*24*60)) * time.Minute),
		})
	}

	seen := make(map[string]bool)
	for len(d.Products) < productCount {
		category := categoryOrder[r.IntN(len(categoryOrder))]
		nouns := categories[category]
		name := adjectives[r.IntN(len(adjectives))] + " " + nouns[r.IntN(len(nouns))]
		if seen[name] {
			name = fmt.Sprintf("%s Mk %d", name, len(d.Products)+1)
		}
		seen[name] = true
		id := int32(len(d.Products) + 1)
		d.Products = append(d.Products, Product{
			ID:       id,
			SKU:      fmt.Sprintf("SKU-%05d", id),
			Name:     name,
			Category: category,
			// Prices between 4.99 and 249.99, always ending in .99.
			PriceCents: int32(500+r.IntN(245)*100) - 1,
		})
	}

	for i := range orderCount {
		id := int32(i + 1)
		customer := d.Customers[r.IntN(len(d.Customers))]
		created := customer.CreatedAt
		d.Orders = append(d.Orders, Order{
			ID:         id,
			CustomerID: customer.ID,
			Status:     orderStatus(r),
			PlacedAt:   created.Add(time.Duration(1+r.IntN(180*24*60)) * time.Minute),
		})
		lines := 1 + r.IntN(maxOrderLines)
		picked := make(map[int]bool, lines)
		for line := 1; line <= lines; line++ {
			p := r.IntN(len(d.Products))
			for picked[p] {
				p = (p + 1) % len(d.Products)
			}
			picked[p] = true
			d.OrderItems = append(d.OrderItems, OrderItem{
				OrderID:        id,
				Line:           int32(line),
				ProductID:      d.Products[p].ID,
				Quantity:       int32(quantity(r)),
				UnitPriceCents: d.Products[p].PriceCents,
			})
		}
	}
	return d
}

// orderStatus draws a status with a realistic mix: most orders are delivered.
func orderStatus(r *rand.Rand) string {
	switch n := r.IntN(100); {
	case n < 70:
		return "delivered"
	case n < 85:
		return "shipped"
	case n < 95:
		return "placed"
	default:
		return "cancelled"
	}
}

// quantity draws 1 most of the time, sometimes 2 or 3.
func quantity(r *rand.Rand) int {
	switch n := r.IntN(10); {
	case n < 7:
		return 1
	case n < 9:
		return 2
	default:
		return 3
	}
}

// asciiLower folds a name into the ASCII letters an email local part can use.
func asciiLower(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z':
			b.WriteRune(c)
		case c == 'é':
			b.WriteRune('e')
		case c == 'í' || c == 'ı':
			b.WriteRune('i')
		}
	}
	return b.String()
}
