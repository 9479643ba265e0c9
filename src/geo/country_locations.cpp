#include "geo/country_locations.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace meridian::geo {

namespace {

// ISO 3166-1 alpha-2 (plus XK, Kosovo) → the capital's latitude and longitude in degrees, to
// two decimals. Territories without a capital use their main settlement; uninhabited ones a
// point on the island. Sorted by country for binary search.
constexpr std::array<std::pair<std::string_view, CountryLocation>, 250> kLocations = {{
    {"AD", {42.51, 1.52}},      // Andorra la Vella
    {"AE", {24.45, 54.38}},     // Abu Dhabi
    {"AF", {34.53, 69.17}},     // Kabul
    {"AG", {17.12, -61.85}},    // St. John's
    {"AI", {18.22, -63.06}},    // The Valley
    {"AL", {41.33, 19.82}},     // Tirana
    {"AM", {40.18, 44.51}},     // Yerevan
    {"AO", {-8.84, 13.23}},     // Luanda
    {"AQ", {-77.85, 166.67}},   // McMurdo Station (no capital)
    {"AR", {-34.60, -58.38}},   // Buenos Aires
    {"AS", {-14.28, -170.70}},  // Pago Pago
    {"AT", {48.21, 16.37}},     // Vienna
    {"AU", {-35.28, 149.13}},   // Canberra
    {"AW", {12.52, -70.03}},    // Oranjestad
    {"AX", {60.10, 19.93}},     // Mariehamn
    {"AZ", {40.41, 49.87}},     // Baku
    {"BA", {43.86, 18.41}},     // Sarajevo
    {"BB", {13.10, -59.62}},    // Bridgetown
    {"BD", {23.81, 90.41}},     // Dhaka
    {"BE", {50.85, 4.35}},      // Brussels
    {"BF", {12.37, -1.52}},     // Ouagadougou
    {"BG", {42.70, 23.32}},     // Sofia
    {"BH", {26.23, 50.59}},     // Manama
    {"BI", {-3.43, 29.93}},     // Gitega
    {"BJ", {6.50, 2.60}},       // Porto-Novo
    {"BL", {17.90, -62.85}},    // Gustavia
    {"BM", {32.29, -64.78}},    // Hamilton
    {"BN", {4.90, 114.94}},     // Bandar Seri Begawan
    {"BO", {-16.50, -68.15}},   // La Paz (seat of government)
    {"BQ", {12.15, -68.27}},    // Kralendijk
    {"BR", {-15.79, -47.88}},   // Brasilia
    {"BS", {25.05, -77.35}},    // Nassau
    {"BT", {27.47, 89.64}},     // Thimphu
    {"BV", {-54.42, 3.36}},     // Bouvet Island (uninhabited)
    {"BW", {-24.65, 25.91}},    // Gaborone
    {"BY", {53.90, 27.57}},     // Minsk
    {"BZ", {17.25, -88.77}},    // Belmopan
    {"CA", {45.42, -75.70}},    // Ottawa
    {"CC", {-12.19, 96.83}},    // West Island
    {"CD", {-4.32, 15.31}},     // Kinshasa
    {"CF", {4.39, 18.56}},      // Bangui
    {"CG", {-4.27, 15.28}},     // Brazzaville
    {"CH", {46.95, 7.45}},      // Bern
    {"CI", {6.83, -5.29}},      // Yamoussoukro
    {"CK", {-21.21, -159.78}},  // Avarua
    {"CL", {-33.45, -70.67}},   // Santiago
    {"CM", {3.87, 11.52}},      // Yaounde
    {"CN", {39.90, 116.41}},    // Beijing
    {"CO", {4.71, -74.07}},     // Bogota
    {"CR", {9.93, -84.08}},     // San Jose
    {"CU", {23.11, -82.37}},    // Havana
    {"CV", {14.93, -23.51}},    // Praia
    {"CW", {12.11, -68.93}},    // Willemstad
    {"CX", {-10.42, 105.68}},   // Flying Fish Cove
    {"CY", {35.17, 33.37}},     // Nicosia
    {"CZ", {50.08, 14.44}},     // Prague
    {"DE", {52.52, 13.40}},     // Berlin
    {"DJ", {11.59, 43.15}},     // Djibouti
    {"DK", {55.68, 12.57}},     // Copenhagen
    {"DM", {15.30, -61.39}},    // Roseau
    {"DO", {18.49, -69.93}},    // Santo Domingo
    {"DZ", {36.75, 3.06}},      // Algiers
    {"EC", {-0.18, -78.47}},    // Quito
    {"EE", {59.44, 24.75}},     // Tallinn
    {"EG", {30.04, 31.24}},     // Cairo
    {"EH", {27.15, -13.20}},    // Laayoune
    {"ER", {15.32, 38.93}},     // Asmara
    {"ES", {40.42, -3.70}},     // Madrid
    {"ET", {9.03, 38.74}},      // Addis Ababa
    {"FI", {60.17, 24.94}},     // Helsinki
    {"FJ", {-18.14, 178.44}},   // Suva
    {"FK", {-51.70, -57.85}},   // Stanley
    {"FM", {6.92, 158.16}},     // Palikir
    {"FO", {62.01, -6.77}},     // Torshavn
    {"FR", {48.86, 2.35}},      // Paris
    {"GA", {0.39, 9.45}},       // Libreville
    {"GB", {51.51, -0.13}},     // London
    {"GD", {12.05, -61.75}},    // St. George's
    {"GE", {41.72, 44.79}},     // Tbilisi
    {"GF", {4.92, -52.33}},     // Cayenne
    {"GG", {49.46, -2.54}},     // St Peter Port
    {"GH", {5.60, -0.19}},      // Accra
    {"GI", {36.14, -5.35}},     // Gibraltar
    {"GL", {64.18, -51.72}},    // Nuuk
    {"GM", {13.45, -16.58}},    // Banjul
    {"GN", {9.64, -13.58}},     // Conakry
    {"GP", {16.00, -61.73}},    // Basse-Terre
    {"GQ", {3.75, 8.78}},       // Malabo
    {"GR", {37.98, 23.73}},     // Athens
    {"GS", {-54.28, -36.51}},   // King Edward Point
    {"GT", {14.63, -90.51}},    // Guatemala City
    {"GU", {13.48, 144.75}},    // Hagatna
    {"GW", {11.86, -15.60}},    // Bissau
    {"GY", {6.80, -58.16}},     // Georgetown
    {"HK", {22.28, 114.16}},    // Hong Kong (Central)
    {"HM", {-53.08, 73.50}},    // Heard Island (uninhabited)
    {"HN", {14.07, -87.19}},    // Tegucigalpa
    {"HR", {45.81, 15.98}},     // Zagreb
    {"HT", {18.54, -72.34}},    // Port-au-Prince
    {"HU", {47.50, 19.04}},     // Budapest
    {"ID", {-6.21, 106.85}},    // Jakarta
    {"IE", {53.35, -6.26}},     // Dublin
    {"IL", {31.77, 35.21}},     // Jerusalem
    {"IM", {54.15, -4.48}},     // Douglas
    {"IN", {28.61, 77.21}},     // New Delhi
    {"IO", {-7.31, 72.41}},     // Diego Garcia
    {"IQ", {33.31, 44.36}},     // Baghdad
    {"IR", {35.69, 51.39}},     // Tehran
    {"IS", {64.15, -21.94}},    // Reykjavik
    {"IT", {41.90, 12.50}},     // Rome
    {"JE", {49.19, -2.11}},     // St Helier
    {"JM", {17.97, -76.79}},    // Kingston
    {"JO", {31.95, 35.93}},     // Amman
    {"JP", {35.68, 139.69}},    // Tokyo
    {"KE", {-1.29, 36.82}},     // Nairobi
    {"KG", {42.87, 74.59}},     // Bishkek
    {"KH", {11.56, 104.92}},    // Phnom Penh
    {"KI", {1.33, 172.98}},     // South Tarawa
    {"KM", {-11.70, 43.26}},    // Moroni
    {"KN", {17.30, -62.72}},    // Basseterre
    {"KP", {39.04, 125.76}},    // Pyongyang
    {"KR", {37.57, 126.98}},    // Seoul
    {"KW", {29.38, 47.99}},     // Kuwait City
    {"KY", {19.29, -81.38}},    // George Town
    {"KZ", {51.17, 71.45}},     // Astana
    {"LA", {17.98, 102.63}},    // Vientiane
    {"LB", {33.89, 35.50}},     // Beirut
    {"LC", {14.01, -60.99}},    // Castries
    {"LI", {47.14, 9.52}},      // Vaduz
    {"LK", {6.89, 79.90}},      // Sri Jayawardenepura Kotte
    {"LR", {6.30, -10.80}},     // Monrovia
    {"LS", {-29.31, 27.48}},    // Maseru
    {"LT", {54.69, 25.28}},     // Vilnius
    {"LU", {49.61, 6.13}},      // Luxembourg
    {"LV", {56.95, 24.11}},     // Riga
    {"LY", {32.89, 13.19}},     // Tripoli
    {"MA", {34.02, -6.84}},     // Rabat
    {"MC", {43.74, 7.42}},      // Monaco
    {"MD", {47.01, 28.86}},     // Chisinau
    {"ME", {42.44, 19.26}},     // Podgorica
    {"MF", {18.07, -63.08}},    // Marigot
    {"MG", {-18.88, 47.51}},    // Antananarivo
    {"MH", {7.09, 171.38}},     // Majuro
    {"MK", {42.00, 21.43}},     // Skopje
    {"ML", {12.64, -8.00}},     // Bamako
    {"MM", {19.76, 96.08}},     // Naypyidaw
    {"MN", {47.89, 106.91}},    // Ulaanbaatar
    {"MO", {22.20, 113.54}},    // Macau
    {"MP", {15.21, 145.75}},    // Saipan
    {"MQ", {14.62, -61.06}},    // Fort-de-France
    {"MR", {18.08, -15.98}},    // Nouakchott
    {"MS", {16.79, -62.21}},    // Brades (de facto capital)
    {"MT", {35.90, 14.51}},     // Valletta
    {"MU", {-20.16, 57.50}},    // Port Louis
    {"MV", {4.18, 73.51}},      // Male
    {"MW", {-13.96, 33.79}},    // Lilongwe
    {"MX", {19.43, -99.13}},    // Mexico City
    {"MY", {3.14, 101.69}},     // Kuala Lumpur
    {"MZ", {-25.97, 32.57}},    // Maputo
    {"NA", {-22.56, 17.08}},    // Windhoek
    {"NC", {-22.28, 166.46}},   // Noumea
    {"NE", {13.51, 2.11}},      // Niamey
    {"NF", {-29.06, 167.96}},   // Kingston
    {"NG", {9.06, 7.49}},       // Abuja
    {"NI", {12.13, -86.25}},    // Managua
    {"NL", {52.37, 4.90}},      // Amsterdam
    {"NO", {59.91, 10.75}},     // Oslo
    {"NP", {27.72, 85.32}},     // Kathmandu
    {"NR", {-0.55, 166.92}},    // Yaren
    {"NU", {-19.06, -169.92}},  // Alofi
    {"NZ", {-41.29, 174.78}},   // Wellington
    {"OM", {23.59, 58.41}},     // Muscat
    {"PA", {8.98, -79.52}},     // Panama City
    {"PE", {-12.05, -77.04}},   // Lima
    {"PF", {-17.54, -149.57}},  // Papeete
    {"PG", {-9.44, 147.18}},    // Port Moresby
    {"PH", {14.60, 120.98}},    // Manila
    {"PK", {33.69, 73.05}},     // Islamabad
    {"PL", {52.23, 21.01}},     // Warsaw
    {"PM", {46.78, -56.18}},    // Saint-Pierre
    {"PN", {-25.07, -130.10}},  // Adamstown
    {"PR", {18.47, -66.11}},    // San Juan
    {"PS", {31.90, 35.20}},     // Ramallah
    {"PT", {38.72, -9.14}},     // Lisbon
    {"PW", {7.50, 134.62}},     // Ngerulmud
    {"PY", {-25.26, -57.58}},   // Asuncion
    {"QA", {25.29, 51.53}},     // Doha
    {"RE", {-20.88, 55.45}},    // Saint-Denis
    {"RO", {44.43, 26.10}},     // Bucharest
    {"RS", {44.79, 20.45}},     // Belgrade
    {"RU", {55.76, 37.62}},     // Moscow
    {"RW", {-1.94, 30.06}},     // Kigali
    {"SA", {24.71, 46.68}},     // Riyadh
    {"SB", {-9.43, 159.95}},    // Honiara
    {"SC", {-4.62, 55.45}},     // Victoria
    {"SD", {15.50, 32.56}},     // Khartoum
    {"SE", {59.33, 18.07}},     // Stockholm
    {"SG", {1.29, 103.85}},     // Singapore
    {"SH", {-15.92, -5.72}},    // Jamestown
    {"SI", {46.06, 14.51}},     // Ljubljana
    {"SJ", {78.22, 15.65}},     // Longyearbyen
    {"SK", {48.15, 17.11}},     // Bratislava
    {"SL", {8.48, -13.23}},     // Freetown
    {"SM", {43.94, 12.45}},     // San Marino
    {"SN", {14.69, -17.45}},    // Dakar
    {"SO", {2.05, 45.32}},      // Mogadishu
    {"SR", {5.85, -55.20}},     // Paramaribo
    {"SS", {4.85, 31.58}},      // Juba
    {"ST", {0.34, 6.73}},       // Sao Tome
    {"SV", {13.69, -89.22}},    // San Salvador
    {"SX", {18.03, -63.05}},    // Philipsburg
    {"SY", {33.51, 36.29}},     // Damascus
    {"SZ", {-26.32, 31.13}},    // Mbabane
    {"TC", {21.46, -71.14}},    // Cockburn Town
    {"TD", {12.11, 15.04}},     // N'Djamena
    {"TF", {-49.35, 70.22}},    // Port-aux-Francais
    {"TG", {6.13, 1.22}},       // Lome
    {"TH", {13.76, 100.50}},    // Bangkok
    {"TJ", {38.56, 68.79}},     // Dushanbe
    {"TK", {-9.38, -171.22}},   // Fakaofo (no capital)
    {"TL", {-8.56, 125.57}},    // Dili
    {"TM", {37.95, 58.38}},     // Ashgabat
    {"TN", {36.81, 10.18}},     // Tunis
    {"TO", {-21.14, -175.20}},  // Nuku'alofa
    {"TR", {39.93, 32.86}},     // Ankara
    {"TT", {10.66, -61.51}},    // Port of Spain
    {"TV", {-8.52, 179.20}},    // Funafuti
    {"TW", {25.03, 121.57}},    // Taipei
    {"TZ", {-6.17, 35.74}},     // Dodoma
    {"UA", {50.45, 30.52}},     // Kyiv
    {"UG", {0.35, 32.58}},      // Kampala
    {"UM", {19.28, 166.65}},    // Wake Island
    {"US", {38.90, -77.04}},    // Washington
    {"UY", {-34.90, -56.16}},   // Montevideo
    {"UZ", {41.30, 69.24}},     // Tashkent
    {"VA", {41.90, 12.45}},     // Vatican City
    {"VC", {13.16, -61.22}},    // Kingstown
    {"VE", {10.49, -66.88}},    // Caracas
    {"VG", {18.43, -64.62}},    // Road Town
    {"VI", {18.34, -64.93}},    // Charlotte Amalie
    {"VN", {21.03, 105.85}},    // Hanoi
    {"VU", {-17.73, 168.32}},   // Port Vila
    {"WF", {-13.28, -176.17}},  // Mata-Utu
    {"WS", {-13.83, -171.76}},  // Apia
    {"XK", {42.66, 21.17}},     // Pristina
    {"YE", {15.37, 44.19}},     // Sanaa
    {"YT", {-12.78, 45.23}},    // Mamoudzou
    {"ZA", {-25.75, 28.19}},    // Pretoria
    {"ZM", {-15.39, 28.32}},    // Lusaka
    {"ZW", {-17.83, 31.05}},    // Harare
}};

}  // namespace

const CountryLocation* location_of_country(std::string_view iso_country) noexcept {
    const auto it = std::lower_bound(kLocations.begin(), kLocations.end(), iso_country,
                                     [](const auto& entry, std::string_view key) { return entry.first < key; });
    if (it == kLocations.end() || it->first != iso_country) return nullptr;
    return &it->second;
}

}  // namespace meridian::geo
