#!/usr/bin/env python3
"""Deterministic generator for sluice's sample corpus.

Run from the repository root:

    python3 sample_data/generate.py

It writes

    sample_data/web/part-00000.jsonl.zst
    sample_data/web/part-00001.jsonl.zst
    sample_data/wiki/articles-00000.parquet

and rewrites them byte-for-byte identically on every run (given the same
pyarrow / zstandard versions; see README.md).  Requires `pyarrow` and
`zstandard` (pip install pyarrow zstandard).

ALL TEXT BELOW IS ORIGINAL: hand-written sentence banks and templates that a
seeded random generator combines.  Nothing is copied from any corpus or
website.  Place names, people, species, products and domains are fictional;
every URL uses the reserved `.example` top-level domain.

Each section draws from its own `random.Random("sluice-sample/<section>")`, so
editing one section does not reshuffle the others.  (String seeds are hashed
with SHA-512 by CPython and do not depend on PYTHONHASHSEED.)
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
WEB_DIR = os.path.join(HERE, "web")
WIKI_DIR = os.path.join(HERE, "wiki")

ZSTD_LEVEL = 19          # pinned: output bytes depend on it
PARQUET_ROW_GROUP = 40   # 120 articles -> 3 row groups
PARQUET_ZSTD_LEVEL = 9


def R(section: str) -> random.Random:
    return random.Random(f"sluice-sample/{section}")


# --------------------------------------------------------------------------
# Template filling
# --------------------------------------------------------------------------
#   {slot}        value chosen once per document (from topic or shared slots)
#   {n:LO-HI}     fresh random integer for every occurrence
#   {a|b|c}       fresh random choice for every occurrence

SHARED_SLOTS = {
    "town": [
        "Alderbrook", "Millhaven", "Westcombe", "Harrowfield", "Stonebridge",
        "Larkspur Falls", "Eastmere", "Bramley Cross", "Oakhollow", "Redwater",
        "Fenwick Green", "Ashcombe", "Cobbleton", "Pinecrest", "Thornbury Vale",
        "Little Wending", "Saltmarsh", "Hollins End", "Kestrel Bay", "Mossley Heath",
    ],
    "weekday": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "month": [
        "January", "February", "March", "April", "May", "June", "July",
        "August", "September", "October", "November", "December",
    ],
    "season": ["spring", "summer", "autumn", "winter"],
}

SLOT_RE = re.compile(r"\{([^{}]+)\}")


class Filler:
    def __init__(self, rng: random.Random, slots: dict[str, list[str]] | None = None,
                 bound: dict[str, str] | None = None):
        self.rng = rng
        self.slots = dict(SHARED_SLOTS)
        if slots:
            self.slots.update(slots)
        self.bound: dict[str, str] = dict(bound or {})

    def _one(self, m: re.Match) -> str:
        s = m.group(1)
        if "|" in s:
            return self.rng.choice(s.split("|"))
        if ":" in s:
            _, span = s.split(":", 1)
            lo, hi = span.split("-")
            return str(self.rng.randint(int(lo), int(hi)))
        if s not in self.bound:
            self.bound[s] = self.rng.choice(self.slots[s])
        return self.bound[s]

    def __call__(self, tmpl: str) -> str:
        out = SLOT_RE.sub(self._one, tmpl)
        return out[:1].upper() + out[1:]


# --------------------------------------------------------------------------
# English topic banks (good prose)
# --------------------------------------------------------------------------

@dataclass
class Topic:
    name: str
    domain: str
    titles: list[str]
    intros: list[str]
    body: list[str]
    closings: list[str]
    slots: dict[str, list[str]] = field(default_factory=dict)


TOPICS: list[Topic] = [
    Topic(
        name="cooking", domain="kitchen-notes.example",
        slots={
            "dish": ["lentil soup", "vegetable curry", "roast chicken", "mushroom risotto",
                     "bean chili", "fish stew", "potato gratin", "tomato sauce"],
            "herb": ["thyme", "rosemary", "parsley", "coriander", "bay leaves", "oregano"],
            "veg": ["onions", "carrots", "celery", "leeks", "peppers", "courgettes"],
        },
        titles=["What I Learned From a Month of Making {dish}", "A Simple Weeknight {dish}",
                "Notes on Cooking {dish} at Home"],
        intros=[
            "Every cook has a dish they return to when the week gets busy, and for me that dish is {dish}.",
            "My grandmother made {dish} on {weekday}s, and the smell of it still reminds me of her kitchen in {town}.",
            "I started making {dish} because it was cheap, but I kept making it because it is genuinely good.",
            "There is nothing clever about {dish}, which is exactly why it is worth learning to cook it well.",
        ],
        body=[
            "Start by cutting the {veg} into pieces of roughly the same size so that they cook evenly.",
            "A heavy pan holds its heat better than a thin one, and that makes a real difference when you brown the {veg}.",
            "Salt the water generously, because pasta and potatoes absorb flavour while they cook and cannot be fixed afterwards.",
            "I add the {herb} near the end, since long cooking tends to dull its flavour.",
            "If the sauce tastes flat, a squeeze of lemon or a spoonful of vinegar will usually wake it up.",
            "Most recipes underestimate how long onions take to soften, so give them at least {n:10-20} minutes over a low flame.",
            "It is worth tasting as you go rather than waiting until the end, when it is too late to change course.",
            "A spoonful of tomato paste fried in the oil for a minute adds a depth that is hard to get any other way.",
            "Leftovers keep well in the fridge for {n:2-4} days, and the flavour often improves by the second day.",
            "When I cook for more than {n:4-8} people, I double the recipe but do not double the salt straight away.",
            "Resting meat for ten minutes after roasting lets the juices settle, so they stay in the meat instead of running across the board.",
            "Dried beans need to soak overnight, although a quick boil followed by an hour of soaking works in a pinch.",
            "A sharp knife is safer than a blunt one, because it goes where you aim it instead of slipping.",
            "I keep a small pot of {herb} on the windowsill, and it has rescued more than one dinner.",
            "The liquid should barely simmer, with only a few bubbles breaking the surface every second.",
            "Freezing portions in flat bags saves space and lets them thaw in about half the time.",
            "Some people add a pinch of sugar to tomato sauce, but I prefer to cook it longer until it turns sweet on its own.",
            "Clean as you cook, and the washing up at the end will take minutes instead of an hour.",
            "The market in {town} sells {veg} by the kilo on {weekday} mornings, and they are far cheaper than at the supermarket.",
            "Good stock makes the biggest difference, and a homemade one needs little more than bones, water and patience.",
        ],
        closings=[
            "Try it once as written, and then change it until it tastes like your own kitchen.",
            "It is not a fancy meal, but it has fed my family well for years.",
            "If you make it, I would love to hear what you changed.",
            "Next week I plan to write about bread, which is a far more stubborn subject.",
        ],
    ),
    Topic(
        name="bread", domain="crumb-and-crust.example",
        slots={
            "bread": ["sourdough loaf", "rye bread", "focaccia", "sandwich loaf",
                      "seeded batch loaf", "soda bread"],
            "flour": ["strong white flour", "wholemeal flour", "rye flour", "spelt flour"],
        },
        titles=["Learning to Bake a Proper {bread}", "My Weekly {bread}", "Bread Notes: The {bread}"],
        intros=[
            "I baked my first {bread} during a long, wet winter, and it came out of the oven as flat as a paving stone.",
            "Bread is mostly flour, water, salt and time, yet a {bread} can still surprise an experienced baker.",
            "People often ask me how to get started with bread, and my answer is always to bake the same {bread} every week until it stops being interesting.",
            "The bakery on the corner in {town} closed last spring, so I finally learned to make my own {bread}.",
        ],
        body=[
            "Weigh your ingredients instead of using cups, because a cup of flour can vary by a fifth depending on how it is packed.",
            "A wetter dough is harder to handle but usually gives a more open crumb.",
            "I use {flour} for most of my baking, sometimes mixed with a handful of something darker.",
            "Salt slows fermentation slightly, so add it after the flour and water have rested for half an hour.",
            "The dough is ready for shaping when it has grown by about half and feels airy under your fingers.",
            "A cold kitchen is not a problem, although the rise may take twice as long as the recipe suggests.",
            "Shaping builds tension on the surface of the loaf, which helps it hold its form in the oven.",
            "Bake the loaf in a covered pot for the first {n:15-25} minutes to trap the steam, then remove the lid so the crust can colour.",
            "Tap the bottom of the loaf when it comes out, because a hollow sound means it is baked through.",
            "Let it cool for at least an hour before cutting, since the inside is still cooking as it rests.",
            "A starter is simply flour and water that has been left to collect wild yeast, and it needs feeding about once a day.",
            "If your starter smells sharply of vinegar, it is hungry rather than ruined.",
            "Stretching and folding the dough every half hour develops strength without any kneading at all.",
            "I keep a notebook of every bake, recording the temperature of the room and how long each stage took.",
            "Stale bread is never wasted in our house, because it becomes toast, breadcrumbs or a thick summer soup.",
            "Scoring the top with a razor lets the loaf expand where you choose rather than bursting at the side.",
            "A baking stone stores heat and gives the base of the loaf a firm, crisp crust.",
            "Rye behaves very differently from wheat, and a dough made mostly of rye feels more like clay than elastic.",
            "Too much flour on the bench will dry out the surface, so use as little as you can get away with.",
            "Most of the flavour develops during a long, slow rise, which is why many bakers leave their dough in the fridge overnight.",
        ],
        closings=[
            "Do not worry if the first few loaves are dense, because every one of them teaches you something.",
            "After a year of weekly baking, I still learn something new from almost every loaf.",
            "The smell of fresh bread on a {weekday} morning is reason enough to keep practising.",
            "Bake often, take notes, and be patient with yourself.",
        ],
    ),
    Topic(
        name="astronomy", domain="dark-sky-diary.example",
        slots={
            "object": ["the Orion Nebula", "Jupiter and its moons", "the Andromeda Galaxy", "Saturn",
                       "the Pleiades", "the Moon"],
            "scope": ["a small refractor", "a pair of binoculars", "an old reflector telescope",
                      "a borrowed telescope"],
        },
        titles=["A Clear Night Over {town}", "Observing Log: {object}", "Stargazing on a Budget"],
        intros=[
            "Last night the sky over {town} was finally clear, and I spent three hours outside looking at {object}.",
            "You do not need expensive equipment to enjoy the night sky, and I started with nothing more than {scope}.",
            "Winter is my favourite season for stargazing, even if my fingers disagree by midnight.",
            "The local astronomy club meets on the first {weekday} of each month, and newcomers are always welcome.",
        ],
        body=[
            "Give your eyes at least twenty minutes to adapt to the dark before you judge what you can see.",
            "A red torch preserves your night vision far better than the white light of a phone screen.",
            "Through {scope}, {object} looked small but surprisingly sharp.",
            "The Moon is easiest to observe near the line between light and shadow, where the craters cast long shadows.",
            "Light pollution from streetlamps washes out faint objects, so even a short drive out of town makes a difference.",
            "Planets do not twinkle as much as stars, which is a handy way to tell them apart.",
            "I keep a simple log with the date, the time, the weather and a short note about each object.",
            "A star chart or a planisphere is more reliable than an app when your phone battery fails in the cold.",
            "Humidity can fog the lens within minutes, so a small heater strip is worth the money.",
            "The best views usually come after midnight, when the air has cooled and settled.",
            "Binoculars show far more stars than the naked eye, and they are easy to carry on a walk.",
            "Meteor showers are best watched lying down, with no equipment at all, away from any lights.",
            "It took me several nights to find my first galaxy, which appeared as a faint grey smudge.",
            "Sketching what you see at the eyepiece trains you to notice details you would otherwise miss.",
            "On a steady night, the rings of Saturn look almost painted onto the darkness.",
            "Cold weather is hard on batteries, so keep spares in an inside pocket.",
            "Many clubs lend telescopes to members, which is a good way to try before buying.",
            "The space station crosses the sky as a bright, steady point that moves faster than any aircraft.",
            "Patience matters more than magnification, because the atmosphere only lets fine detail through for brief moments.",
            "When clouds roll in, I go back inside, make tea and read about the objects I hope to see next time.",
        ],
        closings=[
            "Clear skies, as astronomers like to say, and do not forget to look up.",
            "I will write again after the next clear night, whenever that turns out to be.",
            "Even after years of watching, the sky has never once felt ordinary to me.",
            "If you live near {town}, come along to a club evening and bring a warm coat.",
        ],
    ),
    Topic(
        name="gardening", domain="allotment-diary.example",
        slots={
            "plant": ["tomatoes", "runner beans", "potatoes", "lettuce", "sweet peas", "courgettes",
                      "garlic", "strawberries"],
        },
        titles=["A Year on the Allotment", "Growing {plant} Without Fuss", "Garden Notes for {month}"],
        intros=[
            "My allotment in {town} is small, but this year it produced more {plant} than we could possibly eat.",
            "Gardening teaches patience in a way that few other hobbies can.",
            "I planted my first {plant} in {month} and spent the following weeks checking on them every morning.",
            "A neighbour gave me a bag of seeds and some advice, and that was the start of my vegetable garden.",
        ],
        body=[
            "Good soil is the foundation of everything, so I add a thick layer of compost every autumn.",
            "Water deeply once or twice a week rather than giving the bed a light sprinkle every day.",
            "Slugs came out in force after the rain, and I lost nearly half of my young {plant}.",
            "Mulching with straw keeps the soil moist and stops weeds from taking over.",
            "I sow a few seeds every two weeks so the harvest arrives gradually instead of all at once.",
            "Crop rotation helps prevent disease, because pests that prefer one family of plants cannot build up in the same bed.",
            "Tall plants should go on the north side of the bed so they do not shade the shorter ones.",
            "A simple rain barrel collects more water than most people expect from a single shed roof.",
            "Frost can arrive surprisingly late, so I keep an old sheet ready to cover tender seedlings.",
            "Pinch out the side shoots of tomatoes to direct the energy of the plant into the fruit.",
            "Bees love flowering herbs, and a few pots of lavender near the vegetables improves pollination.",
            "I label every row, because by midsummer I can never remember what I planted where.",
            "Weeding is easiest after rain, when the roots come out of the soil cleanly.",
            "Saving seeds from the best plants each year gradually gives you varieties that suit your own garden.",
            "Raised beds warm up faster in spring and are kinder to your back.",
            "A thin layer of grass clippings around the plants works as a cheap and effective mulch.",
            "Birds eat many of the insects that damage young plants, so I leave a corner of the garden a little wild.",
            "Young seedlings should be hardened off for a week before they are planted outside.",
            "Harvest beans and courgettes often, because the plants stop producing if the pods are left to grow large.",
            "Not every failure is your fault, and some years the weather simply wins.",
        ],
        closings=[
            "By the end of the season, the garden had given back far more than the work I put into it.",
            "Next year I will plant fewer {plant} and more flowers.",
            "If you have even a small patch of ground, I encourage you to try growing something.",
            "Now the beds are covered for winter, and I am already planning for spring.",
        ],
    ),
    Topic(
        name="local_history", domain="history-society.example",
        slots={
            "building": ["the old mill", "the corn exchange", "the railway station", "the parish church",
                         "the market hall", "the stone bridge"],
            "century": ["sixteenth", "seventeenth", "eighteenth", "nineteenth"],
        },
        titles=["The Story of {building} in {town}", "Notes From the Parish Records", "{town} in Old Photographs"],
        intros=[
            "Few people who walk past {building} in {town} today know how important it once was.",
            "The history of {town} is written in its buildings, its street names and its old photographs.",
            "Our local history society spent the winter going through parish records from the {century} century.",
            "When I moved to {town}, an elderly neighbour offered to show me around, and her stories changed how I saw the place.",
        ],
        body=[
            "{building} was built in the {century} century, when the town depended on the river for trade.",
            "The records show that the population nearly doubled within a single generation after the railway arrived.",
            "Old maps reveal a network of lanes that has since disappeared under modern housing.",
            "A fire in {n:1820-1890} destroyed much of the high street, and most of the present buildings date from the rebuilding.",
            "Many of the street names recall trades that have vanished, such as tanners, ropemakers and coopers.",
            "The school opened with {n:30-60} pupils and a single teacher who also served as the clerk of the parish.",
            "Letters kept in the county archive describe a hard winter when the river froze for six weeks.",
            "During the war, the market hall was used to store grain and later as a canteen for workers.",
            "The mill wheel turned for almost two hundred years before the machinery was finally sold for scrap.",
            "Some families can trace their roots in the area back more than ten generations.",
            "Photographs from the early twentieth century show horse-drawn carts lined up outside the inn.",
            "The old toll house still stands at the edge of town, although the gate itself was removed long ago.",
            "Oral history recordings made in the nineteen-seventies preserve the voices of people born before the first motor car arrived.",
            "A small museum now occupies the former police station, and it is run entirely by volunteers.",
            "Floods were a constant worry, and marks on the church wall record the highest levels.",
            "The annual fair was once the most important event of the year, drawing traders from miles around.",
            "Census returns list occupations house by house, which lets us reconstruct whole streets.",
            "Many cottages were built from stone taken from the ruins of an earlier priory.",
            "The arrival of electricity in {n:1910-1935} was celebrated with a procession and a brass band.",
            "Local newspapers are an underused source, full of small details about everyday life.",
        ],
        closings=[
            "If you have old photographs of {town}, the society would be delighted to copy them.",
            "History is not only about kings and battles, but also about ordinary people and the places they lived.",
            "Next time you walk past {building}, take a moment to look up at the details above the door.",
            "There is still much we do not know, and every new document adds another piece to the puzzle.",
        ],
    ),
    Topic(
        name="programming", domain="quiet-compiler.example",
        slots={
            "lang": ["Python", "Rust", "Go", "shell scripts", "SQL"],
            "tool": ["git", "a debugger", "the profiler", "a linter", "unit tests"],
        },
        titles=["Small Habits That Make Better Programmers", "Lessons From a Week of Debugging {lang}",
                "Practical Tips for Working With {lang}"],
        intros=[
            "After ten years of writing software, the habits that help me most are surprisingly simple.",
            "I spent most of last week chasing a bug in some old {lang} code, and it taught me a few lessons worth sharing.",
            "New programmers often ask which language to learn first, but I think habits matter more than syntax.",
            "This is a short collection of practical tips that have saved me time, mostly when working with {lang}.",
        ],
        body=[
            "Commit small changes often, and write commit messages that explain why rather than what.",
            "Read the error message carefully before searching for it, since it often tells you exactly what went wrong.",
            "A failing test that reproduces the bug is worth more than an hour of guessing.",
            "Name variables after what they mean, not after their type.",
            "When a function grows longer than a screen, it is usually doing more than one thing.",
            "Measure before you optimise, because the slow part of a program is rarely where you expect it to be.",
            "I learned more from reading the code of other people than from any book.",
            "Use {tool} regularly, not only when something is already broken.",
            "Automate anything you do more than three times, even if the script is ugly at first.",
            "Logging the inputs of a failing operation often reveals the problem faster than stepping through it.",
            "Code review is a conversation, and the goal is better software rather than winning an argument.",
            "Keep configuration separate from code so that the same program can run in different environments.",
            "Deleting code is one of the most satisfying parts of the job, and unused code is a liability.",
            "Write the documentation while the design is still fresh in your mind.",
            "Floating point numbers are not exact, so never compare them for equality without a tolerance.",
            "Dates and time zones cause more bugs than almost anything else, so store times in a single standard zone.",
            "Take breaks, because the solution to a stubborn problem often appears while you are making coffee.",
            "Pin the versions of your dependencies so that a build today behaves the same as a build next month.",
            "A good continuous integration setup catches mistakes before they reach anyone else.",
            "Explaining a problem aloud, even to an empty room, forces you to notice the assumptions you have made.",
        ],
        closings=[
            "None of this is new, but it took me years to actually follow my own advice.",
            "Pick one habit from this post and try it for a week.",
            "Good software is written by people who are kind to their future selves.",
            "Happy coding, and remember to take that break.",
        ],
    ),
    Topic(
        name="travel", domain="slow-roads.example",
        slots={
            "place": ["the northern coast", "a small island", "the mountain villages", "the old port city",
                      "the lake district", "the high plateau"],
            "transport": ["the night train", "a rented bicycle", "the local bus", "a small ferry"],
        },
        titles=["Two Weeks Around {place}", "Slow Travel by {transport}", "What I Packed for {place}"],
        intros=[
            "We spent two weeks travelling around {place}, mostly by {transport}, and it was one of the best trips we have taken.",
            "I have never been good at planning holidays, so this time I packed a small bag and went to {place} with no itinerary.",
            "Slow travel has become popular for good reasons, and my journey through {place} convinced me of its charm.",
            "People warned me that {place} would be crowded in summer, so we went in {month} instead.",
        ],
        body=[
            "Travelling by {transport} meant we saw places that never appear in guidebooks.",
            "The guesthouse was run by a family who cooked breakfast with eggs from their own hens.",
            "Learning a few words of the local language made every conversation warmer.",
            "Carry a paper map, because mobile signal disappears exactly when you need it most.",
            "We walked for hours along the cliffs and met only a handful of other people.",
            "Markets are the best place to understand what a region eats and grows.",
            "The weather changed several times a day, so layers were more useful than a heavy coat.",
            "Booking the first night and leaving the rest open gave us the freedom to stay longer where we were happy.",
            "A small museum in a former schoolhouse turned out to be the highlight of the week.",
            "Public transport was slower than driving but far more relaxing, and we could watch the landscape instead of the road.",
            "Locals recommended a restaurant with no sign on the door, and it served the best fish we ate all trip.",
            "Early mornings were quiet and cool, while the afternoons belonged to tour groups.",
            "Packing light is easier than it sounds once you accept that you can wash clothes on the way.",
            "The ferry crossing took {n:2-5} hours, and we spent most of it on deck watching for dolphins.",
            "Travel insurance felt like an unnecessary expense until the luggage of a friend vanished at the airport.",
            "We kept a shared journal, which is now a better souvenir than any of the photos.",
            "Many shops close for a long lunch, so it pays to plan errands for the morning.",
            "Staying in one town for several nights let us recognise faces in the bakery and the café.",
            "Respecting local customs, such as dressing modestly in places of worship, costs nothing and matters a great deal.",
            "By the end of the trip we had walked more than {n:80-200} kilometres without really noticing.",
        ],
        closings=[
            "I would go back tomorrow, and next time I will stay twice as long.",
            "Travel does not have to be far or expensive to change the way you see things.",
            "If you are planning a similar trip, take fewer things and more time.",
            "The journey home felt short, and we were already talking about where to go next.",
        ],
    ),
    Topic(
        name="bicycle", domain="spokes-and-sprockets.example",
        slots={
            "part": ["chain", "rear derailleur", "brake pads", "inner tube", "headset", "bottom bracket"],
            "bike": ["old steel touring bike", "commuter bike", "second-hand road bike", "cargo bike"],
        },
        titles=["Replacing the {part} on My {bike}", "Basic Bike Maintenance Anyone Can Do",
                "Workshop Night: Fixing a {bike}"],
        intros=[
            "My {bike} has carried me to work for years, and I have learned to fix most of its problems myself.",
            "Basic bicycle maintenance is not difficult, and it saves money as well as long walks home.",
            "Last weekend I finally replaced the {part} on my {bike}, a job I had been putting off for months.",
            "The community workshop in {town} opens on {weekday} evenings, and it is the best place I know to learn bike repair.",
        ],
        body=[
            "A clean chain runs quieter and lasts longer, so wipe it down after every wet ride.",
            "Too much oil attracts grit, which acts like sandpaper on the drivetrain.",
            "To fix a puncture, first find what caused it, or the new tube will go flat within minutes.",
            "Run your fingers carefully around the inside of the tyre to feel for thorns or shards of glass.",
            "Brake pads wear faster in the rain, and worn pads can damage the rim surprisingly quickly.",
            "Most gear problems come from cable tension, which you can adjust with the small barrel on the derailleur.",
            "A chain checker is cheap and tells you when the chain has stretched enough to need replacing.",
            "Tyre pressure matters more than most riders think, and the right range is printed on the sidewall.",
            "Always tighten bolts to the recommended torque, especially on carbon parts.",
            "Keep a small kit with a spare tube, tyre levers, a pump and a multi-tool in your bag.",
            "If the bike makes a clicking sound under load, check the pedals before blaming the bottom bracket.",
            "Old steel frames can be repaired by almost any welder, which is one reason people love them.",
            "Wheel truing takes patience, turning each spoke nipple only a quarter turn at a time.",
            "Lights and a bell are cheap, and they make riding at dusk much safer.",
            "Squeaky brakes can often be cured by cleaning the rims with a little alcohol.",
            "A worn {part} affects everything around it, so replacing it early saves money later.",
            "Hang the bike on a stand or turn it upside down so you can spin the cranks freely while you work.",
            "Take photos before you take anything apart, since they make reassembly much easier.",
            "Second-hand parts are fine for many repairs, but I always buy new brake cables.",
            "After any repair, ride slowly around the block before heading into traffic.",
        ],
        closings=[
            "Learning to look after your own bike makes every ride feel a little more independent.",
            "Next time I will write about packing a bike for a long tour.",
            "Ride safely, and keep that pump in your bag.",
            "If something still feels wrong after a repair, it is always worth asking a mechanic.",
        ],
    ),
    Topic(
        name="birds", domain="hedgerow-birding.example",
        slots={
            "bird": ["robins", "wrens", "blackbirds", "goldfinches", "herons", "swallows",
                     "woodpeckers", "owls"],
            "habitat": ["the marsh", "the old orchard", "the river bank", "the park", "the beech wood"],
        },
        titles=["Morning Birds at {habitat}", "A Beginner's Guide to Birdsong", "Spring Arrivals in {town}"],
        intros=[
            "Every morning before work I spend twenty minutes watching the birds in {habitat} near my home in {town}.",
            "Birdwatching began for me as an excuse to walk, but it has turned into a lifelong interest.",
            "This spring the {bird} returned to {habitat} earlier than I have ever recorded.",
            "You can learn a great deal about a place simply by listening to its birds at dawn.",
        ],
        body=[
            "The {bird} were most active in the first hour after sunrise.",
            "A pair of binoculars and a notebook are all the equipment you really need.",
            "Learning birdsong takes time, but even a few common calls make a walk much richer.",
            "I counted {n:12-40} species in a single morning, which is a personal record.",
            "Feeders attract many visitors in winter, but they must be cleaned regularly to prevent disease.",
            "Herons stand so still at the edge of the water that walkers often pass without noticing them.",
            "Swallows arrive from the south in spring and gather on telephone wires before leaving again in autumn.",
            "Wrens are tiny, yet their song is one of the loudest in the hedgerow.",
            "A sudden silence in the wood often means that a hawk is hunting nearby.",
            "Nest boxes should face away from the prevailing wind and the strongest afternoon sun.",
            "Keeping a record over many years shows how the timing of migration is changing.",
            "Owls are easier to hear than to see, especially on still nights in late autumn.",
            "Goldfinches love thistle seeds, so I leave a few thistles standing at the edge of the garden.",
            "Patience is rewarded, because birds return to their usual perches once you have been still for a while.",
            "Local surveys rely on volunteers, and anyone who can recognise common species can take part.",
            "A muddy shoreline at low tide can hold hundreds of wading birds feeding side by side.",
            "Woodpeckers drum on dead branches in early spring to mark their territory.",
            "Wearing dull colours and moving slowly makes it easier to get close without disturbing anything.",
            "Cats catch a great many songbirds, so a bell on the collar can make a real difference.",
            "The dawn chorus is at its fullest in late spring, when most birds are defending territories.",
        ],
        closings=[
            "There is always something new to see if you are willing to stand still and wait.",
            "I hope this encourages you to step outside tomorrow morning and listen.",
            "My notebook is filling up quickly, and I would not have it any other way.",
            "If you spot anything unusual in {habitat}, please add it to the local records.",
        ],
    ),
    Topic(
        name="weather", domain="backyard-weather.example",
        slots={
            "event": ["a thunderstorm", "a heavy frost", "dense fog", "a long heatwave",
                      "a week of gales", "a late snowfall"],
        },
        titles=["Weather Diary: {month}", "When the Barometer Falls", "A Strange {season} in {town}"],
        intros=[
            "This {season} has been one of the strangest I can remember, starting with {event} that nobody predicted.",
            "I have kept a simple weather diary in {town} for over {n:5-20} years, and the records are starting to tell a story.",
            "Weather is the one topic every neighbour is happy to discuss, and this week there was plenty to talk about.",
            "Forecasting has improved enormously, yet {event} can still catch everyone by surprise.",
        ],
        body=[
            "The barometer fell steadily all afternoon, which is usually a sign that rain is on its way.",
            "A ring around the moon often appears a day before wet weather arrives.",
            "Morning fog tends to lift by midday when the sun has had a chance to warm the ground.",
            "My rain gauge recorded {n:20-60} millimetres in a single night, more than the usual total for a month.",
            "Clear, still nights bring the sharpest frosts, because heat escapes quickly into the open sky.",
            "Thunderstorms build when warm, moist air rises quickly and cools at altitude.",
            "The wind swung round to the north overnight, and the temperature dropped by eight degrees.",
            "Local farmers still watch the sky closely, and their instincts are often remarkably accurate.",
            "Hail stripped the leaves from the fruit trees in less than ten minutes.",
            "Valleys collect cold air on calm nights, so the bottom of the hill can be several degrees colder than the top.",
            "Records from the old station show that the last frosts now come earlier each spring.",
            "High clouds drifting in from the west were the first sign that the settled weather would end.",
            "Snow rarely settles for long here, because the sea keeps winter temperatures mild.",
            "During the heatwave, the reservoir fell so low that the foundations of an old farmhouse reappeared.",
            "A sudden drop in wind just before a storm is one of the eeriest moments in nature.",
            "Keeping a diary is simple, requiring only a thermometer, a rain gauge and a regular time to read them.",
            "Rainbows appear when the sun is behind you and rain is falling in front of you.",
            "Gales brought down several old trees along the lane, and the power was off for most of a day.",
            "Dew on the grass at dawn usually means the day will stay dry.",
            "The first warm day of the year brought everyone outside at once, as if by agreement.",
        ],
        closings=[
            "Whatever the forecast says for tomorrow, I will be out at eight to read the gauge.",
            "The weather keeps us humble, and that may be no bad thing.",
            "I will post the monthly totals once the {season} is over.",
            "Keep an umbrella by the door, just in case.",
        ],
    ),
    Topic(
        name="woodworking", domain="shavings-workshop.example",
        slots={
            "project": ["bookshelf", "garden bench", "chopping board", "small side table", "tool chest",
                        "bird box"],
            "wood": ["oak", "ash", "pine", "walnut", "beech", "cherry"],
        },
        titles=["Building a {project} From {wood}", "Hand Tools in a Small Workshop", "My First {project}"],
        intros=[
            "I built my first {project} from {wood} this winter, and the mistakes taught me more than any video.",
            "Woodworking does not require a large workshop, and my own corner of the garage is barely two metres wide.",
            "A friend asked me to make a {project} for her new flat, which turned out to be a bigger job than either of us expected.",
            "Hand tools are slower than machines, but they are quieter, cheaper and surprisingly satisfying to use.",
        ],
        body=[
            "Measure twice and cut once is an old saying for a very good reason.",
            "{wood} is beautiful to work but can split if you drive a screw too close to the end.",
            "A sharp plane leaves a surface so smooth that it barely needs sanding.",
            "Let timber rest in the room where it will live for a week so it can adjust to the humidity.",
            "Glue alone is stronger than most people expect, provided the joint fits well.",
            "I mark all my cuts with a knife rather than a pencil, because the line is finer and more accurate.",
            "Clamps are the tool you can never have enough of.",
            "Sanding through the grits one at a time is tedious but gives a far better finish than skipping straight to fine paper.",
            "An oil finish brings out the grain and is easy to repair if the surface gets scratched.",
            "Always keep your hands behind the cutting edge, and never rush when you are tired.",
            "Dust collection matters for your lungs, even in a small workshop.",
            "Dovetail joints look difficult, but practising on scrap wood for an afternoon makes them far less frightening.",
            "Reclaimed timber is cheap and full of character, although it often hides old nails.",
            "A simple shooting board lets you trim end grain square with a hand plane.",
            "Check the project for square before the glue sets, while there is still time to correct it.",
            "Wood moves with the seasons, so wide panels need room to expand and shrink.",
            "Sharpening is a skill in itself, and a good routine takes only a few minutes each session.",
            "The {project} took about {n:6-30} hours in total, spread over several weekends.",
            "Write your name and the date somewhere hidden, because future owners will enjoy finding it.",
            "Pine is a good wood for learning, as it is cheap and forgiving of mistakes.",
        ],
        closings=[
            "It is not perfect, but it is solid, and it was made by hand.",
            "My next project will be something smaller, perhaps a set of coasters.",
            "If you have been thinking about trying woodworking, start with a simple box and see where it leads.",
            "The workshop is cold in winter, but I would rather be there than anywhere else.",
        ],
    ),
    Topic(
        name="photography", domain="available-light.example",
        slots={
            "subject": ["street scenes", "landscapes", "portraits", "wildlife", "old buildings", "the harbour"],
            "lens": ["a fifty millimetre lens", "a wide angle lens", "an old manual lens", "a phone camera"],
        },
        titles=["Photographing {subject} With {lens}", "A Photograph Every Day", "Learning to See Light"],
        intros=[
            "I have been photographing {subject} around {town} for three years, almost always with {lens}.",
            "Good photographs come from paying attention, not from buying more equipment.",
            "Last {month} I set myself a challenge to take one photograph every day, and it changed how I look at ordinary things.",
            "Many beginners ask which camera to buy, but I think learning to see light is far more important.",
        ],
        body=[
            "The hour after sunrise and the hour before sunset give soft, warm light that flatters almost any subject.",
            "Working with {lens} forces you to move your feet instead of zooming.",
            "Overcast days are excellent for portraits, since the clouds act as a huge soft box.",
            "Look at the edges of the frame before you press the shutter, because distractions often hide there.",
            "I shoot in manual mode when the light is steady and let the camera help when things change quickly.",
            "A tripod slows you down, and that is often exactly what a landscape needs.",
            "Back up your files in at least two places, one of them away from your home.",
            "Photographing {subject} taught me to wait for the right moment instead of chasing it.",
            "Rain brings reflections and colour to city streets that disappear on sunny days.",
            "Editing should enhance the photograph, not rescue it, so try to get it right in the camera.",
            "Asking permission before taking a portrait usually leads to a better picture and a friendlier encounter.",
            "Printing your best work reveals flaws and qualities that a screen hides.",
            "Shooting the same place in different seasons makes a surprisingly powerful series.",
            "Leading lines, such as roads or fences, guide the eye into the picture.",
            "High contrast scenes are difficult, and sometimes it is better to expose for the highlights and let the shadows go dark.",
            "A small notebook for recording settings helped me understand why some images worked and others did not.",
            "I delete far more photographs than I keep, which is an important part of the process.",
            "Joining a local photography group gave me honest feedback and new friends.",
            "Cold weather drains batteries quickly, so carry a spare in a warm pocket.",
            "Sometimes the best photograph is the one you take on the way home, after you have stopped trying.",
        ],
        closings=[
            "Keep shooting, keep looking, and do not worry too much about the gear.",
            "I will share a few of this year's favourites in the next post.",
            "Photography has made me notice my own town in a completely new way.",
            "Take your camera for a walk this week, even if you think there is nothing to photograph.",
        ],
    ),
    Topic(
        name="beekeeping", domain="hive-and-honey.example",
        slots={
            "hive": ["two hives", "a single hive", "three hives", "a small apiary"],
        },
        titles=["Four Years of Keeping Bees", "The Honey Harvest", "Beekeeping Notes for {month}"],
        intros=[
            "I started keeping bees four years ago with {hive} at the bottom of the garden, and I am still learning every week.",
            "Beekeeping is often described as a calm hobby, and on a warm afternoon it certainly can be.",
            "Our local beekeeping association in {town} runs a course every {season}, which is how I got started.",
            "This year the honey harvest was the best we have had, although the season began badly.",
        ],
        body=[
            "Bees are gentler on warm, sunny days when most of the colony is out foraging.",
            "Smoke calms the colony by masking the alarm scent that guard bees release.",
            "A full protective suit gives beginners confidence, although many experienced keepers use only a veil.",
            "Each inspection should have a purpose, and it is best to close the hive within fifteen minutes.",
            "Look for eggs first, because they show that the queen was present within the last three days.",
            "Swarming is natural, and it usually happens in late spring when the colony runs out of space.",
            "Varroa mites are the greatest threat to honey bees, and they need careful monitoring.",
            "Bees need water as well as nectar, so a shallow dish with stones for landing is helpful.",
            "A strong colony can contain more than {n:30-60} thousand bees at the height of summer.",
            "Honey should only be taken once the bees have capped the cells with wax.",
            "Leaving enough honey for winter is more important than taking every last frame.",
            "The taste of honey changes with the flowers in bloom, from light spring blossom to dark summer heather.",
            "Wax from old combs can be melted down and used for candles or polish.",
            "Beekeepers keep records of every inspection, noting temperament, brood and stores.",
            "In winter the bees cluster together and shiver their flight muscles to keep warm.",
            "Neighbours are usually happier about hives once they receive a jar of honey.",
            "Planting flowers that bloom at different times helps all kinds of pollinators, not only honey bees.",
            "A calm, slow manner matters more than any piece of equipment.",
            "Queen bees can live for several years, while workers in summer survive only a few weeks.",
            "Stings happen to everyone, and most beekeepers become less bothered by them over time.",
        ],
        closings=[
            "Beekeeping has made me pay attention to every flower in the neighbourhood.",
            "If you are curious, find your local association and ask to visit an apiary.",
            "The hives are quiet now, and I am looking forward to the first warm days of spring.",
            "There is always more to learn, which is exactly what keeps it interesting.",
        ],
    ),
    Topic(
        name="hiking", domain="muddy-boots.example",
        slots={
            "trail": ["the ridge path", "the coast path", "the forest loop", "the old drovers' road",
                      "the river trail"],
            "dist": ["twelve", "fifteen", "eighteen", "twenty"],
        },
        titles=["A Day on {trail}", "Walking Above {town}", "Hill Walking for Beginners"],
        intros=[
            "On {weekday} we walked {trail} above {town}, a route of about {dist} kilometres.",
            "Walking in the hills clears my head better than anything else I know.",
            "The forecast promised a dry day, so we packed sandwiches and set off along {trail} at dawn.",
            "Long walks do not require special fitness, only good shoes, enough water and a sensible plan.",
        ],
        body=[
            "The first climb was steep, but the view from the top made every step worthwhile.",
            "Waterproof boots are worth the money, although they need time to break in.",
            "Always tell someone where you are going and when you expect to be back.",
            "A map and compass still matter, because phones run out of battery and lose signal in valleys.",
            "We stopped by a stream for lunch and watched a buzzard circling overhead.",
            "Weather in the hills changes faster than in town, so carry a warm layer even in summer.",
            "The path was muddy after recent rain, and we were grateful for our walking poles.",
            "Closing gates behind you protects livestock and keeps good relations with farmers.",
            "Start early in summer to avoid the heat of the afternoon.",
            "The descent was harder on the knees than the climb, as it usually is.",
            "Eat small amounts often rather than waiting until you feel hungry.",
            "Old stone markers along {trail} show the way that drovers once took to market.",
            "Blisters are easier to prevent than to treat, so stop as soon as you feel any rubbing.",
            "We passed only two other walkers all day, both heading in the opposite direction.",
            "Take all your litter home, including fruit peel, which takes a long time to break down.",
            "Late afternoon light turned the hills gold as we walked the final stretch.",
            "A small first aid kit weighs almost nothing and can make a real difference.",
            "Walking with friends makes the miles pass quickly, while walking alone gives time to think.",
            "The village pub at the end of the route served soup and fresh bread to muddy walkers.",
            "We covered the distance in about {n:4-7} hours, including plenty of stops.",
        ],
        closings=[
            "We arrived home tired, muddy and very happy.",
            "Next month we plan to tackle a longer route, weather permitting.",
            "If you know {town}, I recommend {trail} on a clear autumn day.",
            "There is no better way to spend a day than on your own two feet.",
        ],
    ),
]
TOPIC_BY_NAME = {t.name: t for t in TOPICS}


def slugify(s: str) -> str:
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")


SMALL_WORDS = {"a", "an", "the", "of", "on", "in", "at", "and", "for", "with", "to", "by", "from"}


def titlecase(s: str) -> str:
    return " ".join(w.lower() if i and w.lower() in SMALL_WORDS else w[:1].upper() + w[1:]
                    for i, w in enumerate(s.split(" ")))


def make_prose(rng: random.Random, topic: Topic, *, title: bool | None = None,
               n_body: tuple[int, int] = (9, 14)) -> tuple[str, str]:
    """Return (title, text) of a multi-paragraph English article on `topic`."""
    f = Filler(rng, topic.slots)
    ttl = titlecase(f(rng.choice(topic.titles)))
    sents = [f(rng.choice(topic.intros))]
    sents += [f(s) for s in rng.sample(topic.body, rng.randint(*n_body))]
    sents.append(f(rng.choice(topic.closings)))
    paras, i = [], 0
    while i < len(sents):
        k = rng.randint(3, 5)
        if len(sents) - (i + k) < 2:      # no one-sentence tail paragraph
            k = len(sents) - i
        paras.append(" ".join(sents[i:i + k]))
        i += k
    if title is None:
        title = rng.random() < 0.5
    text = "\n\n".join(([ttl] if title else []) + paras)
    return ttl, text


# --------------------------------------------------------------------------
# Other languages (original sentences; short everyday topics)
# --------------------------------------------------------------------------

LANG_BANKS: dict[str, list[str]] = {
    "fr": [
        "Le marché du samedi matin attire des habitants de tous les villages voisins.",
        "On y trouve des fromages, des légumes de saison et du pain encore chaud.",
        "Depuis quelques années, la mairie encourage les producteurs locaux à s'installer sur la place.",
        "Au printemps, les cerisiers fleurissent le long du canal et les promeneurs s'arrêtent pour les photographier.",
        "La bibliothèque municipale propose des ateliers d'écriture le mercredi après-midi.",
        "Pour préparer une bonne soupe, il faut surtout de la patience et des légumes frais.",
        "Les enfants apprennent à faire du vélo dans la cour de l'école, sous le regard attentif des parents.",
        "Le train régional met environ quarante minutes pour rejoindre la grande ville.",
        "En hiver, la brume couvre souvent la vallée jusqu'à midi.",
        "Mon voisin répare de vieilles horloges dans un petit atelier au fond de son jardin.",
        "Chaque été, une fête de quartier réunit les habitants autour d'un long repas partagé.",
        "Il vaut mieux réserver une table, car le restaurant est souvent complet le dimanche.",
        "Les sentiers de randonnée sont bien balisés, mais il est prudent d'emporter une carte.",
        "La rivière a débordé deux fois au siècle dernier, et les anciens s'en souviennent encore.",
        "Le soir, on entend les chouettes dans les grands arbres du parc.",
        "Ma grand-mère notait toutes ses recettes dans un cahier à la couverture usée.",
    ],
    "de": [
        "Im Herbst sammeln wir im Wald Pilze, aber nur die Sorten, die wir sicher kennen.",
        "Der kleine Bahnhof wurde im letzten Jahr renoviert und hat jetzt wieder einen Fahrkartenschalter.",
        "Mein Großvater hat sein ganzes Leben lang Fahrräder repariert.",
        "Wer früh aufsteht, kann vom Aussichtsturm aus die Berge im Süden sehen.",
        "Die Stadtbibliothek ist am Montag geschlossen, dafür aber am Samstag bis zum Abend geöffnet.",
        "Für einen guten Kartoffelsalat braucht man festkochende Kartoffeln, Brühe und etwas Geduld.",
        "Im Winter friert der See manchmal zu, doch das Eis ist selten dick genug zum Schlittschuhlaufen.",
        "Die Kinder der Grundschule haben im Frühling einen Schulgarten angelegt.",
        "Am Wochenende fährt der Bus nur jede zweite Stunde, deshalb sollte man den Fahrplan prüfen.",
        "Auf dem Markt gibt es frisches Brot, Käse aus der Region und im Sommer Erdbeeren.",
        "Das alte Rathaus stammt aus dem sechzehnten Jahrhundert und steht unter Denkmalschutz.",
        "Viele Vögel ziehen im September nach Süden und kehren erst im März zurück.",
        "Nach einem langen Regentag riecht die Luft im Garten besonders frisch.",
        "Wir haben beschlossen, öfter mit dem Rad zur Arbeit zu fahren.",
        "Die Straßen in der Altstadt sind schmal, und man parkt am besten außerhalb.",
        "Abends sitzen die Nachbarn oft noch lange auf der Bank vor dem Haus.",
    ],
    "es": [
        "Cada domingo, la plaza del pueblo se llena de familias que pasean después de comer.",
        "Mi abuela preparaba la tortilla con patatas, cebolla y mucha paciencia.",
        "El autobús hacia la costa sale a las ocho de la mañana y tarda casi dos horas.",
        "En verano hace tanto calor que las tiendas cierran a mediodía y vuelven a abrir por la tarde.",
        "La biblioteca municipal organiza un club de lectura el primer jueves de cada mes.",
        "Desde la colina se ve todo el valle y, en los días claros, incluso el mar.",
        "Los vecinos cuidan un pequeño huerto comunitario detrás del colegio.",
        "Para arreglar una rueda pinchada solo hacen falta unas palancas, un parche y una bomba.",
        "El mercado abre temprano y a las diez ya no quedan tomates buenos.",
        "Durante las fiestas, la banda de música toca en la calle hasta la madrugada.",
        "El río baja con mucha agua en primavera, cuando se derrite la nieve de las montañas.",
        "Te recomiendo llevar agua y un sombrero si vas a subir al castillo.",
        "Las cigüeñas vuelven cada año al campanario de la iglesia.",
        "Aprender a cocinar bien lleva tiempo, pero cualquiera puede empezar con recetas sencillas.",
        "Por la noche, el pueblo está tan tranquilo que se oyen los grillos.",
        "¿Quién no recuerda el olor del pan recién hecho en la panadería de la esquina?",
    ],
    "ru": [
        "Каждое утро я выхожу на прогулку в парк рядом с домом.",
        "Зимой река замерзает, и дети катаются на коньках у самого берега.",
        "В нашей библиотеке открылся новый читальный зал с большими окнами.",
        "Бабушка всегда пекла пироги с капустой по воскресеньям.",
        "Электричка до города идёт около часа, поэтому многие читают в дороге.",
        "Летом на даче мы выращиваем огурцы, помидоры и немного зелени.",
        "Осенью в лесу много грибов, но собирать нужно только знакомые.",
        "Старый мост через реку построили больше ста лет назад.",
        "Весной во дворе распускается сирень, и весь дом пахнет цветами.",
        "Чтобы починить велосипед, достаточно простого набора инструментов и немного терпения.",
        "В субботу на площади проходит ярмарка, где продают мёд и овощи.",
        "Вечером над озером появляется туман, и становится очень тихо.",
        "Мой сосед много лет наблюдает за птицами и ведёт подробный дневник.",
        "Погода в горах меняется быстро, поэтому лучше взять тёплую куртку.",
        "На вокзале недавно поставили новые часы, и теперь все поезда уходят вовремя.",
    ],
    "zh": [
        "每天早上，公园里都有很多老人在打太极拳。",
        "我家附近新开了一家面馆，牛肉面的味道很好。",
        "周末我们常常骑自行车去河边散步。",
        "春天的时候，山上的樱花开得特别漂亮。",
        "图书馆每周三晚上都有免费的读书会。",
        "奶奶做的饺子皮薄馅大，全家人都很喜欢。",
        "从这里坐火车到省城大约需要两个小时。",
        "这条老街保留了很多上个世纪的建筑。",
        "夏天雨水多，出门最好带上一把伞。",
        "学习一门新的语言需要耐心和坚持。",
        "晚上抬头可以看到很多星星，因为这里没有太多灯光。",
        "市场里的水果很新鲜，价格也比超市便宜。",
        "秋天是去郊外爬山的好季节。",
        "小区里的孩子们放学后喜欢在院子里踢球。",
        "爷爷每天下午都会去茶馆和老朋友下棋。",
    ],
    "ja": [
        "毎朝、駅前のパン屋で焼きたてのパンを買います。",
        "この町では春になると川沿いの桜が満開になります。",
        "週末は家族と一緒に近くの山へハイキングに行きました。",
        "祖母が作る味噌汁は、いつも優しい味がします。",
        "図書館は月曜日が休館日なので注意してください。",
        "電車で三十分ほど行くと、海の見える小さな町に着きます。",
        "夏祭りでは、子どもたちが浴衣を着て花火を見に来ます。",
        "自転車のタイヤがパンクしたので、自分で修理してみました。",
        "冬の夜は空気が澄んでいて、星がとてもきれいに見えます。",
        "新しいカフェは静かで、本を読むのにぴったりです。",
        "庭でトマトとキュウリを育てていますが、今年はよく実りました。",
        "雨の日には、古い映画をゆっくり見るのが好きです。",
        "商店街のお店は夜８時に閉まるところが多いです。",
        "秋になると、公園の木々が赤や黄色に色づきます。",
        "博物館は午前１０時から午後５時まで開いています。",
    ],
    "ar": [
        "في كل صباح، يذهب جدي إلى السوق لشراء الخبز الطازج.",
        "تقع المكتبة العامة في وسط المدينة بالقرب من الحديقة الكبيرة.",
        "يحب الأطفال اللعب على شاطئ البحر في أيام الصيف الحارة.",
        "تعلّمت أمي الطبخ من جدتها، وما زالت تحتفظ بدفتر وصفاتها القديم.",
        "يستغرق القطار حوالي ساعتين للوصول إلى العاصمة.",
        "في فصل الربيع تمتلئ الحقول بالأزهار الملونة.",
        "نصحني صديقي بقراءة كتاب جديد عن تاريخ المدينة.",
        "يجتمع الجيران مساء كل جمعة لتناول الشاي والحديث.",
        "السماء صافية الليلة، ويمكن رؤية النجوم بوضوح.",
        "افتُتح مقهى صغير في شارعنا، وقهوته لذيذة جداً.",
        "من المهم أن نشرب كمية كافية من الماء عندما يكون الطقس حاراً.",
        "يزرع عمي الزيتون والتين في مزرعته خارج المدينة.",
        "أصلحت دراجتي بنفسي بعد أن شاهدت أخي وهو يصلح دراجته.",
        "هل تعرف متى يفتح المتحف أبوابه يوم السبت؟",
        "يبدأ العام الدراسي الجديد في شهر أيلول.",
    ],
    "hi": [
        "हर सुबह मेरे दादाजी पार्क में टहलने जाते हैं।",
        "हमारे शहर का पुराना बाज़ार अपनी मिठाइयों के लिए प्रसिद्ध है।",
        "बारिश के मौसम में खेत हरे-भरे हो जाते हैं।",
        "माँ के हाथ की दाल और रोटी का स्वाद सबसे अच्छा होता है।",
        "पुस्तकालय रविवार को बंद रहता है, इसलिए हम शनिवार को किताबें लौटाते हैं।",
        "ट्रेन से राजधानी पहुँचने में लगभग तीन घंटे लगते हैं।",
        "सर्दियों की रातों में आसमान में बहुत सारे तारे दिखाई देते हैं।",
        "बच्चे स्कूल के बाद मैदान में क्रिकेट खेलते हैं।",
        "गाँव के पास एक छोटी नदी बहती है जिसका पानी बहुत साफ़ है।",
        "नई भाषा सीखने के लिए रोज़ थोड़ा अभ्यास करना ज़रूरी है।",
        "त्योहार के दिनों में पूरे मोहल्ले को रोशनी से सजाया जाता है।",
        "मेरी बहन ने अपनी साइकिल का पंक्चर खुद ठीक किया।",
        "गर्मियों में आम का मौसम सबसे ज़्यादा पसंद किया जाता है।",
        "पहाड़ों पर मौसम जल्दी बदलता है, इसलिए गर्म कपड़े साथ रखें।",
        "शाम को चाय के साथ पकौड़े खाना हमारे घर की पुरानी आदत है।",
    ],
    "it": [
        "Ogni mattina il fornaio del paese apre alle sei e il profumo del pane arriva fino alla piazza.",
        "In estate le strade del centro si riempiono di turisti e di musica.",
        "Mia nonna prepara ancora la pasta fatta in casa ogni domenica.",
        "Il treno regionale per la città parte ogni ora dalla piccola stazione.",
        "Dalla collina si vede tutto il lago, soprattutto nelle giornate limpide.",
        "La biblioteca comunale ha appena aperto una nuova sala per i ragazzi.",
        "In autunno si raccolgono le castagne nei boschi intorno al paese.",
        "Per riparare la bicicletta bastano un po' di pazienza e qualche attrezzo semplice.",
    ],
    "pt": [
        "Todas as manhãs, os pescadores voltam ao porto com o barco cheio de sardinhas.",
        "A padaria da esquina vende o melhor pão da cidade.",
        "No verão, as praias ficam cheias de famílias e de vendedores de gelados.",
        "A minha avó guardava as receitas num caderno antigo de capa azul.",
        "O comboio para a capital demora cerca de duas horas.",
        "Na primavera, os campos à volta da aldeia enchem-se de flores.",
        "A biblioteca municipal organiza sessões de leitura para crianças aos sábados.",
        "À noite, ouve-se o mar a partir de qualquer rua do bairro.",
    ],
    "ko": [
        "매일 아침 동네 빵집에서 갓 구운 빵 냄새가 납니다.",
        "봄이 되면 강가에 벚꽃이 활짝 핍니다.",
        "주말에는 가족과 함께 가까운 산에 올라갑니다.",
        "할머니가 끓여 주신 된장찌개는 언제나 맛있습니다.",
        "도서관은 월요일마다 문을 닫습니다.",
        "겨울밤에는 하늘이 맑아서 별이 잘 보입니다.",
        "시장에서 산 과일은 신선하고 값도 쌉니다.",
        "자전거 타이어에 구멍이 나서 직접 고쳐 보았습니다.",
    ],
}
# How many documents per language, and the separator between sentences.
LANG_DOCS = {"fr": 5, "de": 5, "es": 5, "ru": 5, "zh": 5, "ja": 5, "ar": 5, "hi": 5,
             "it": 2, "pt": 2, "ko": 2}
NO_SPACE_LANGS = {"zh", "ja"}
LANG_DOMAINS = {
    "fr": "petites-nouvelles.example", "de": "dorfblatt.example", "es": "cronica-local.example",
    "ru": "gorodskie-zametki.example", "zh": "xiaozhen-riji.example", "ja": "machi-dayori.example",
    "ar": "akhbar-al-hay.example", "hi": "mohalla-samachar.example", "it": "notizie-paese.example",
    "pt": "jornal-da-aldeia.example", "ko": "dongne-sosik.example",
}


def make_foreign(rng: random.Random, lang: str) -> str:
    bank = LANG_BANKS[lang]
    sents = rng.sample(bank, rng.randint(min(6, len(bank)), min(10, len(bank))))
    sep = "" if lang in NO_SPACE_LANGS else " "
    cut = sorted(rng.sample(range(2, len(sents) - 1), 1 if len(sents) < 8 else 2))
    paras, prev = [], 0
    for c in cut + [len(sents)]:
        paras.append(sep.join(sents[prev:c]))
        prev = c
    return "\n\n".join(paras)


# --------------------------------------------------------------------------
# Spam
# --------------------------------------------------------------------------

SPAM_PRODUCTS = ["designer watches", "weight loss pills", "luxury handbags", "cheap flights",
                 "crypto signals", "casino bonus", "car insurance quotes", "replica sunglasses",
                 "SEO backlinks", "miracle face cream", "gaming gift cards", "payday loans"]
SPAM_DOMAINS = ["best-deals-online.example", "cheap-offers-now.example", "win-big-today.example",
                "free-prizes-4u.example", "top-pharma-store.example", "crypto-moon.example",
                "mega-discount.example", "click-and-earn.example"]


def spam_url(rng: random.Random) -> str:
    return (f"http://{rng.choice(SPAM_DOMAINS)}/{rng.choice(['offer', 'promo', 'go', 'r', 'deal'])}"
            f"?id={rng.randint(1000, 99999)}&ref={rng.choice(['mail', 'sms', 'banner', 'aff'])}")


def make_spam(rng: random.Random) -> tuple[str, str]:
    p = rng.choice(SPAM_PRODUCTS)
    P = p.upper()
    u = lambda: spam_url(rng)  # noqa: E731
    style = rng.randrange(8)
    if style == 0:
        lines = [f"!!! LIMITED TIME OFFER !!! BUY NOW AND SAVE {rng.randint(50, 95)}% ON {P} !!!",
                 f"CLICK HERE >>> {u()}",
                 "ONLY TODAY!!! ONLY TODAY!!! ONLY TODAY!!!",
                 f"FREE SHIPPING WORLDWIDE. NO PRESCRIPTION. NO QUESTIONS. ORDER {P} NOW!!!",
                 f"{u()}"]
    elif style == 1:
        kw = [f"cheap {p}", f"buy {p}", f"best {p}", f"{p} online", f"{p} discount",
              f"{p} sale", f"{p} free", f"discount {p} online"]
        words = [rng.choice(kw) for _ in range(rng.randint(25, 45))]
        lines = [" ".join(words), f"Visit {u()} for {p}.", " ".join(rng.choice(kw) for _ in range(15))]
    elif style == 2:
        prize = rng.choice(["iPhone", "gift card worth $1000", "luxury cruise", "new laptop", "cash prize"])
        lines = ["Congratulations!!! You have been selected as today's lucky winner!",
                 f"You have won a FREE {prize}. To claim your reward, click here: {u()}",
                 f"Hurry, this offer expires in {rng.randint(2, 15)} minutes!!!",
                 "Click here. Click here. Click here to claim now.",
                 "Unsubscribe | Privacy"]
    elif style == 3:
        n = rng.randint(2, 9) * 100
        lines = [f"MAKE ${n} A DAY FROM HOME!!! NO EXPERIENCE NEEDED!!!",
                 "I was broke until I found this ONE SIMPLE TRICK that banks do not want you to know.",
                 f"Click here to start earning today: {u()}",
                 f"Work from home. Work from home. Work from home. Earn ${n}. Earn ${n}. Earn ${n}.",
                 "$$$ $$$ $$$ GUARANTEED INCOME $$$ $$$ $$$"]
    elif style == 4:
        coin = rng.choice(["MOONDOGE", "ROCKETCOIN", "GEMTOKEN", "LAMBO"])
        lines = [f"🚀🚀🚀 {coin} TO THE MOON 🚀🚀🚀",
                 f"100x GUARANTEED!!! Presale ends TONIGHT. Join now: {u()}",
                 "🔥🔥🔥 DON'T MISS OUT 🔥🔥🔥 DON'T MISS OUT 🔥🔥🔥",
                 f"Buy {coin} buy {coin} buy {coin} buy {coin} buy {coin} buy {coin}",
                 "💎🙌 HODL 💎🙌 HODL 💎🙌"]
    elif style == 5:
        line = rng.choice([f"BEST {P} CLICK HERE", f"Buy {p} now at {rng.choice(SPAM_DOMAINS)}",
                           f"cheap {p} cheap {p} cheap {p}"])
        lines = [line] * rng.randint(12, 30)
    elif style == 6:
        lines = [f"Hot deals on {p}: {u()}", f"More {p}: {u()}", f"Top {p} sites: {u()}",
                 f"Related: {u()} {u()} {u()}", f"Partners: {u()}", f"Mirror: {u()}"]
    else:
        lines = [f"Dear Friend, I am writing to you about an URGENT business matter concerning {p}.",
                 "YOU HAVE BEEN CHOSEN!!! Reply with your bank details to receive your share.",
                 "THIS IS NOT SPAM!!! THIS IS NOT SPAM!!! THIS IS NOT SPAM!!!",
                 f"Act now: {u()}", "100% FREE!!! 100% LEGAL!!! 100% GUARANTEED!!!"]
    return f"style{style}", "\n".join(lines)


# --------------------------------------------------------------------------
# Web boilerplate
# --------------------------------------------------------------------------

BOILER_HEAD = [
    "Jump to navigation", "Skip to main content", "Home | About | Blog | Recipes | Contact",
    "Menu", "Search", "Log in", "Register", "Home > Blog > {cat}", "You are here: Home / {cat}",
    "Toggle navigation", "Sign in / Create account",
    "We use cookies to improve your experience on our website. By continuing to browse, you agree to our use of cookies.",
    "This site uses cookies. Accept all | Reject all | Manage preferences",
    "Your browser is out of date. Please update it to view this site correctly.",
]
BOILER_FOOT = [
    "Share this: Facebook Twitter Email Print", "Related posts", "Previous post", "Next post",
    "Leave a comment", "You must be logged in to post a comment.", "Subscribe to our newsletter",
    "Enter your email address", "Subscribe", "Follow us on social media",
    "Privacy Policy | Terms of use | Cookie Policy | Sitemap", "Terms of use", "Accessibility",
    "© {year} {site}. All rights reserved.", "Powered by SiteKit", "Back to top",
    "Categories: {cat}", "Tags: {cat}, news, tips", "Posted by admin", "Loading...",
    "Please enable JavaScript in your browser to use all features of this site.",
    "Copyright {year} {site} | All rights reserved | Terms of use | Privacy Policy",
]
BOILER_ERR = [
    ["404 Not Found", "The page you are looking for could not be found.", "Return to homepage"],
    ["Access denied", "You do not have permission to view this page.", "Error code 403"],
    ["Just a moment...", "Checking your browser before accessing the site.", "This process is automatic."],
    ["Page not found", "Sorry, this page has moved or no longer exists.", "Search our site"],
]
BOILER_CATS = ["Uncategorized", "News", "Recipes", "Garden", "Travel", "Blog", "Tips"]


def boiler_fill(rng: random.Random, line: str, site: str) -> str:
    return (line.replace("{cat}", rng.choice(BOILER_CATS)).replace("{site}", site)
            .replace("{year}", str(rng.randint(2016, 2024))))


def make_boiler_wrapped(rng: random.Random, topic: Topic) -> tuple[str, str]:
    title, body = make_prose(rng, topic, title=True)
    site = topic.domain
    head = [boiler_fill(rng, x, site) for x in rng.sample(BOILER_HEAD, rng.randint(3, 7))]
    foot = [boiler_fill(rng, x, site) for x in rng.sample(BOILER_FOOT, rng.randint(4, 9))]
    return title, "\n".join(head) + "\n\n" + body + "\n\n" + "\n".join(foot)


def make_boiler_pure(rng: random.Random, site: str) -> tuple[str, str, int]:
    if rng.random() < 0.35:
        err = rng.choice(BOILER_ERR)
        lines = rng.sample(BOILER_HEAD, 3) + err + rng.sample(BOILER_FOOT, 4)
        status = {"404": 404, "Acc": 403}.get(err[0][:3], 200)
        variant = "error_page"
    else:
        lines = rng.sample(BOILER_HEAD, rng.randint(4, 8)) + rng.sample(BOILER_FOOT, rng.randint(6, 12))
        status, variant = 200, "nav_only"
    return variant, "\n".join(boiler_fill(rng, x, site) for x in lines), status


# --------------------------------------------------------------------------
# List / bullet-heavy pages
# --------------------------------------------------------------------------

LIST_PAGES = [
    ("Packing list for a weekend hike", "muddy-boots.example", [
        "waterproof jacket", "spare socks", "map and compass", "head torch", "first aid kit",
        "water bottle", "sandwiches", "sun hat", "whistle", "phone charger", "walking poles",
        "warm hat", "gloves", "sunscreen", "plasters for blisters", "rubbish bag"]),
    ("Tools for the bike workshop", "spokes-and-sprockets.example", [
        "tyre levers", "floor pump with gauge", "set of hex keys", "chain checker", "chain tool",
        "cable cutters", "spoke key", "pedal spanner", "torque wrench", "degreaser", "clean rags",
        "chain oil", "puncture repair kit", "cassette lockring tool"]),
    ("Ingredients", "kitchen-notes.example", [
        "2 onions, finely chopped", "3 cloves of garlic", "400 g red lentils", "1 tin of tomatoes",
        "1 litre vegetable stock", "1 tsp ground cumin", "1 tsp smoked paprika", "juice of half a lemon",
        "salt and pepper", "a handful of parsley", "2 tbsp olive oil", "1 carrot, diced"]),
    ("Garden jobs for the month", "allotment-diary.example", [
        "sow broad beans", "prune the apple trees", "turn the compost heap", "clean the greenhouse",
        "order seed potatoes", "repair the fence panel", "net the strawberries", "mulch the roses",
        "divide the rhubarb", "sharpen the shears", "empty the water butt filter"]),
    ("Things to see in {town}", "history-society.example", [
        "the old mill", "the stone bridge", "the market hall", "the museum in the old police station",
        "the riverside walk", "the parish church", "the toll house", "the Saturday market",
        "the botanical garden", "the lookout tower"]),
    ("Changelog", "quiet-compiler.example", [
        "Fixed crash when the input folder is empty", "Added progress bar", "Improved error messages",
        "Updated dependencies", "Removed deprecated flag", "Faster startup", "Fixed typo in help text",
        "Added support for compressed input", "Documentation improvements", "Minor refactoring"]),
    ("Reading list", "hedgerow-birding.example", [
        "A history of the county railways", "Birds of the river valley", "The patient baker",
        "Notes from a small workshop", "A field guide to the night sky", "Walking the old roads",
        "Honey and wax", "The allotment year", "Weather lore and science"]),
    ("Contents", "quiet-compiler.example", [
        "Introduction", "Getting started", "Installation", "Configuration", "Basic usage",
        "Advanced topics", "Troubleshooting", "Frequently asked questions", "Glossary", "Index"]),
]
BULLETS = ["- ", "* ", "• ", "– ", "· ", "▪ ", "→ ", "✓ ", "[ ] ", "#"]


def make_list_page(rng: random.Random) -> tuple[str, str, str]:
    title, domain, items = rng.choice(LIST_PAGES)
    f = Filler(rng)
    title = f(title)
    chosen = rng.sample(items, rng.randint(min(7, len(items)), len(items)))
    style = rng.choice(BULLETS + ["num", "num)"])
    out = []
    for i, it in enumerate(chosen, 1):
        if style == "num":
            out.append(f"{i}. {it}")
        elif style == "num)":
            out.append(f"{i}) {it}")
        elif style == "#":
            out.append(f"## {it}")
        else:
            out.append(style + it)
    lines = [title]
    if rng.random() < 0.4:
        lines.append(rng.choice(["Here is the list I use every time.", "Updated for this season.",
                                 "Print this page and tick things off as you go."]))
    return style.strip() or "bullet", domain, "\n".join(lines + [""] + out)


# --------------------------------------------------------------------------
# Very short documents, lorem ipsum, code
# --------------------------------------------------------------------------

SHORT_DOCS = [
    ("empty", ""), ("whitespace", "   \n\t  \n"), ("newlines", "\n\n\n"), ("word", "ok"),
    ("word", "Thanks!"), ("sentence", "Hello world."), ("http", "404 Not Found"),
    ("sentence", "Page not found."), ("ui", "Loading..."), ("word", "Test"), ("keyboard", "asdf"),
    ("emoji", "👍"), ("punct", "…"), ("ui", "Click here."), ("ui", "Read more »"),
    ("ui", "No results found."), ("ui", "Coming soon!"), ("word", "Untitled"), ("literal", "null"),
    ("literal", "N/A"), ("sentence", "See you tomorrow at the station."),
    ("sentence", "The meeting has moved to Thursday at ten."),
    ("sentence", "Closed for the holidays, back on Monday."), ("number", "42"),
]

LOREM_WORDS = (
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut "
    "labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris "
    "nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit voluptate velit esse "
    "cillum fugiat nulla pariatur excepteur sint occaecat cupidatat non proident sunt culpa qui "
    "officia deserunt mollit anim id est laborum").split()


def make_lorem(rng: random.Random, paras: int) -> str:
    out = []
    for p in range(paras):
        sents = []
        for _ in range(rng.randint(4, 7)):
            w = [rng.choice(LOREM_WORDS) for _ in range(rng.randint(7, 16))]
            sents.append(" ".join(w).capitalize() + ".")
        if p == 0:
            sents[0] = "Lorem ipsum dolor sit amet, consectetur adipiscing elit."
        out.append(" ".join(sents))
    return "\n\n".join(out)


# Hand-written code snippets (curly braces, JavaScript, CSS, markup).
CODE_DOCS = [
    ("js_blog", "How to debounce a search box\n\n"
     "If every keystroke sends a request, the server will suffer. A small debounce helper waits "
     "until the user stops typing for a moment.\n\n"
     "function debounce(fn, delay) {\n"
     "  let timer = null;\n"
     "  return function (...args) {\n"
     "    clearTimeout(timer);\n"
     "    timer = setTimeout(() => fn.apply(this, args), delay);\n"
     "  };\n"
     "}\n\n"
     "const input = document.querySelector('#search');\n"
     "input.addEventListener('input', debounce((event) => {\n"
     "  fetch(`/api/search?q=${encodeURIComponent(event.target.value)}`)\n"
     "    .then((res) => res.json())\n"
     "    .then((data) => renderResults(data.items));\n"
     "}, 300));\n\n"
     "Three hundred milliseconds feels responsive without flooding the backend."),
    ("minified_js", "!function(){\"use strict\";var e=document.getElementById(\"nav-toggle\"),"
     "t=!1;if(e){e.addEventListener(\"click\",function(n){n.preventDefault();t=!t;"
     "document.body.classList.toggle(\"nav-open\",t)})}window.__siteCfg={v:3,debug:!1,"
     "locale:\"en\"};for(var r=document.querySelectorAll(\"img[data-src]\"),o=0;o<r.length;o++)"
     "{r[o].src=r[o].getAttribute(\"data-src\")}}();"),
    ("css", ".site-header {\n  display: flex;\n  justify-content: space-between;\n  padding: 1rem 2rem;\n}\n"
     ".site-header a:hover {\n  color: #c0392b;\n  text-decoration: underline;\n}\n"
     "@media (max-width: 600px) {\n  .site-header { flex-direction: column; }\n}\n"),
    ("json_config", "{\n  \"name\": \"garden-planner\",\n  \"version\": \"0.4.1\",\n"
     "  \"settings\": {\n    \"units\": \"metric\",\n    \"frost_dates\": [\"04-20\", \"10-15\"],\n"
     "    \"beds\": 6\n  },\n  \"debug\": false\n}"),
    ("python_blog", "Counting words in a folder of text files takes only a few lines of Python.\n\n"
     "from collections import Counter\nfrom pathlib import Path\n\n"
     "counts = Counter()\nfor path in Path('notes').glob('*.txt'):\n"
     "    counts.update(path.read_text(encoding='utf-8').lower().split())\n\n"
     "stats = {word: n for word, n in counts.most_common(10)}\nprint(stats)\n\n"
     "The dictionary at the end holds the ten most common words and how often each appears."),
    ("rust_blog", "A tiny Rust function that sums the lengths of some lines:\n\n"
     "fn total_len(lines: &[&str]) -> usize {\n    lines.iter().map(|l| l.len()).sum()\n}\n\n"
     "fn main() {\n    let lines = vec![\"alpha\", \"beta\", \"gamma\"];\n"
     "    println!(\"{}\", total_len(&lines));\n}\n\n"
     "Iterators like this compile down to a simple loop."),
    ("html_script", "<div class=\"post\">\n<script type=\"text/javascript\">\n"
     "  var config = { theme: \"dark\", trackClicks: true };\n"
     "  document.addEventListener(\"DOMContentLoaded\", function () { init(config); });\n"
     "</script>\n<p>Welcome to my little corner of the web, where I write about gardens and bread.</p>\n"
     "<noscript>Please enable JavaScript to view the comments.</noscript>\n</div>"),
]


# --------------------------------------------------------------------------
# Odd Unicode: transformations applied to freshly generated English prose
# --------------------------------------------------------------------------

ACCENT_SENTENCES = [
    "We stopped at a little café where the owner, Zoë, served crème brûlée and a chilled rosé.",
    "The naïve résumé pinned to the façade of the old coöperative store made everyone smile.",
    "Señora Núñez explained that the piñata came from a village near Ibagué.",
    "A visiting professor, Dr. Ångström-Müller, gave a talk on the señorío records and the Übersee trade.",
]
COMPAT_SENTENCES = [
    "The recipe calls for ½ cup of flour, ¼ teaspoon of salt and 2² eggs, which is four.",
    "The oven should reach 220℃, and the finished dough weighs about 1.5㎏.",
    "Chapter Ⅻ describes the river, and note ① explains the old map.",
    "The label said Brand™ and Company® in tiny letters under the price.",
    "Our flat is №4 on the 2ⁿᵈ floor, and the kitchen measures 12 m² in total.",
    "The trail is 14㎞ long, and the summit sits at 900 m above the sea.",
    "The company was registered as ㈱ Kestrel Works and the phone line was marked ℡.",
]
EMOJI = ["😀", "🙂", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🧑🏾‍🍳", "❤️", "🇫🇷", "🇯🇵", "1️⃣", "🐝",
         "🌧️", "🚲", "🔭", "🍞", "👁️‍🗨️", "🧔‍♀️", "🫶🏻", "🐦‍⬛"]
RTL_SENTENCES = [
    "The sign above the library door read \u202bمرحبا بكم في المكتبة\u202c, which means welcome to the library.",
    "In Hebrew the word for peace is \u200fשלום\u200f, and it is also used as an everyday greeting.",
    "User \u2068محمد\u2069 left 3 comments and user \u2068נועה\u2069 left 5.",
    "The attachment was called report\u202egpj.exe\u202c and it was certainly not a photograph.",
    "Our guide wrote the address as شارع النخيل ١٢ and then read the numbers aloud: 12.",
]
CASE_SENTENCES = [
    "Our guide spelled the street name as Straße on one sign and STRASSE on another, and ẞ appears on a third.",
    "Turkish has both a dotted İ and a dotless ı, which makes lowercasing İzmir and Iğdır surprisingly tricky.",
    "The Greek word ΟΔΟΣ means road, and its last letter becomes ς rather than σ in lowercase.",
]
CYRILLIC_LOOKALIKE = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і"}


def fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if 0x21 <= ord(c) <= 0x7E else ("\u3000" if c == " " else c)
                   for c in s)


def math_alnum(s: str, style: str) -> str:
    base = {"bold": (0x1D400, 0x1D41A, 0x1D7CE), "sans_bold": (0x1D5D4, 0x1D5EE, 0x1D7EC),
            "mono": (0x1D670, 0x1D68A, 0x1D7F6), "circled": (0x24B6, 0x24D0, None)}[style]
    out = []
    for c in s:
        if "A" <= c <= "Z":
            out.append(chr(base[0] + ord(c) - 65))
        elif "a" <= c <= "z":
            out.append(chr(base[1] + ord(c) - 97))
        elif "0" <= c <= "9" and base[2]:
            out.append(chr(base[2] + ord(c) - 48))
        else:
            out.append(c)
    return "".join(out)


def insert_sentences(rng: random.Random, text: str, extra: list[str]) -> str:
    paras = text.split("\n\n")
    ok = [i for i, p in enumerate(paras) if p.rstrip()[-1:] in ".!?"] or list(range(len(paras)))
    for s in extra:
        i = rng.choice(ok)
        paras[i] = paras[i] + " " + s
    return "\n\n".join(paras)


def words_map(rng: random.Random, text: str, frac: float, fn) -> str:
    parts = re.split(r"(\s+)", text)
    return "".join(fn(p) if (p and not p.isspace() and rng.random() < frac) else p for p in parts)


def u_bom(rng, t):
    paras = t.split("\n\n")
    if rng.random() < 0.5 or len(paras) < 2:
        return "\ufeff" + t
    k = len(paras) // 2
    return "\ufeff" + "\n\n".join(paras[:k]) + "\n\n\ufeff" + "\n\n".join(paras[k:])


def u_crlf(rng, t):
    return t.replace("\n", "\r\n") + "\r\n"


def u_cr_only(rng, t):
    return t.replace("\n", "\r")


def u_ligatures(rng, t):
    for a, b in (("ffi", "ﬃ"), ("ffl", "ﬄ"), ("ff", "ﬀ"), ("fi", "ﬁ"), ("fl", "ﬂ")):
        t = t.replace(a, b)
    return t


def u_fullwidth(rng, t):
    paras = t.split("\n\n")
    i = rng.randrange(len(paras))
    sents = paras[i].split(". ")
    j = rng.randrange(len(sents))
    sents[j] = fullwidth(sents[j])
    paras[i] = ". ".join(sents)
    paras.append(f"Reference №{fullwidth(str(rng.randint(10000, 99999)))}, page {fullwidth(str(rng.randint(1, 40)))}.")
    return "\n\n".join(paras)


def u_nfd(rng, t):
    t = insert_sentences(rng, t, rng.sample(ACCENT_SENTENCES, 2))
    return unicodedata.normalize("NFD", t)


def u_zero_width(rng, t):
    zw = ["\u200b", "\u200b", "\u200c", "\u200d", "\u2060"]

    def inject(w):
        k = rng.randrange(1, len(w)) if len(w) > 1 else 1
        return w[:k] + rng.choice(zw) + w[k:]
    return words_map(rng, t, 0.12, inject)


def u_soft_hyphen(rng, t):
    def hyph(w):
        if len(w) < 8:
            return w
        k = rng.randrange(3, len(w) - 3)
        return w[:k] + "\u00ad" + w[k:]
    return words_map(rng, t, 0.6, hyph)


def u_control(rng, t):
    ctl = ["\x07", "\x08", "\x0b", "\x0c", "\x00", "\x7f", "\x85", "\x9d", "\x1b[0m", "\x01"]
    parts = t.split(" ")
    for _ in range(rng.randint(6, 12)):
        i = rng.randrange(len(parts))
        parts[i] = parts[i] + rng.choice(ctl)
    return "\x1b[1;31mWARNING\x1b[0m copied from terminal\n\n" + " ".join(parts)


def u_emoji(rng, t):
    sents = re.split(r"(?<=[.!?]) ", t)
    out = [s + " " + "".join(rng.sample(EMOJI, rng.randint(1, 3))) if rng.random() < 0.35 else s
           for s in sents]
    return " ".join(out) + "\n\nTeam: 👩‍💻 🧑🏽‍🍳 👨‍👩‍👧‍👦 🏳️‍🌈 🇫🇷🇩🇪🇯🇵 #️⃣"


def u_rtl(rng, t):
    return insert_sentences(rng, t, rng.sample(RTL_SENTENCES, 3))


def u_spaces(rng, t):
    t = re.sub(r"(\d+) ", lambda m: m.group(1) + rng.choice(["\u00a0", "\u202f", "\u2009"]), t)
    t = words_map(rng, t, 0.08, lambda w: w + rng.choice(["\u00a0", "\u3000", "\u2003", "\t", "  "]))
    lines = t.split("\n")
    lines = [ln + " " * rng.randint(0, 3) if ln else ln for ln in lines]
    return "\t" + "\n".join(lines).replace("\n\n", "\n\n\n\n", 1) + "\n\n\n"


def u_math(rng, t):
    style = rng.choice(["bold", "sans_bold", "mono", "circled"])
    return words_map(rng, t, 0.1, lambda w: math_alnum(w, style))


def u_compat(rng, t):
    return insert_sentences(rng, t, rng.sample(COMPAT_SENTENCES, 3))


def u_homoglyph(rng, t):
    return words_map(rng, t, 0.25, lambda w: "".join(CYRILLIC_LOOKALIKE.get(c, c) if rng.random() < 0.5 else c
                                                      for c in w))


def u_smart_punct(rng, t):
    t = insert_sentences(rng, t, ["\"This is the best bread in town,\" she said, \"and I've tried them all...\"",
                                  "The sign said 'open 9 - 5' and nothing else."])
    t = re.sub(r'"([^"]*)"', "\u201c\\1\u201d", t)
    t = re.sub(r"'([^']*)'", "\u2018\\1\u2019", t)
    return t.replace("'", "\u2019").replace("...", "\u2026").replace(" - ", " \u2013 ").replace(", and", " \u2014 and", 1)


def u_line_seps(rng, t):
    return t.replace("\n\n", "\u2029").replace(". ", ".\u2028", 2).replace("! ", "!\x85", 1)


def u_mojibake(rng, t):
    s = rng.choice(ACCENT_SENTENCES) + " \u201cQuoted,\u201d she said \u2013 twice."
    bad = s.encode("utf-8").decode("cp1252", errors="replace")
    return insert_sentences(rng, t, [bad])


def u_zalgo(rng, t):
    def z(w):
        return "".join(c + "".join(chr(rng.randint(0x300, 0x36F)) for _ in range(rng.randint(2, 6)))
                       for c in w)
    return words_map(rng, t, 0.06, z)


def u_case(rng, t):
    return insert_sentences(rng, t, CASE_SENTENCES)


def u_replacement(rng, t):
    t = t.replace("a", "\ufffd", 3)
    return insert_sentences(rng, t, ["The caf\ufffd on the corner had a sign in \ufffd\ufffd\ufffd\ufffd that nobody could read."])


def u_mixed(rng, t):
    for fn in (u_ligatures, u_zero_width, u_emoji, u_compat, u_nfd, u_crlf):
        t = fn(rng, t)
    return "\ufeff" + t


UNICODE_VARIANTS = [
    ("bom", u_bom, 2), ("crlf", u_crlf, 2), ("cr_only", u_cr_only, 1), ("ligatures", u_ligatures, 2),
    ("fullwidth", u_fullwidth, 2), ("nfd_combining", u_nfd, 2), ("zero_width", u_zero_width, 2),
    ("soft_hyphen", u_soft_hyphen, 2), ("control_chars", u_control, 2), ("emoji_zwj", u_emoji, 2),
    ("rtl_bidi", u_rtl, 2), ("odd_spaces", u_spaces, 2), ("math_alphanumeric", u_math, 2),
    ("compat_symbols", u_compat, 2), ("homoglyphs", u_homoglyph, 1), ("smart_punct", u_smart_punct, 1),
    ("line_separators", u_line_seps, 1), ("mojibake", u_mojibake, 1), ("combining_stack", u_zalgo, 1),
    ("case_mapping", u_case, 1), ("replacement_char", u_replacement, 1), ("everything", u_mixed, 1),
]


# --------------------------------------------------------------------------
# Near-duplicate perturbations (of existing good documents)
# --------------------------------------------------------------------------

SYNONYMS = {"often": "frequently", "usually": "generally", "small": "little", "quickly": "rapidly",
            "simple": "basic", "begin": "start", "large": "big", "cheap": "inexpensive",
            "surprisingly": "remarkably", "important": "significant", "old": "aged", "far": "much",
            "every": "each", "worth": "well worth", "tired": "weary", "quiet": "calm"}


def nd_word_swap(rng, t, topic):
    parts = re.split(r"(\W+)", t)
    idx = [i for i, p in enumerate(parts) if p in SYNONYMS]
    for i in rng.sample(idx, min(3, len(idx))):
        parts[i] = SYNONYMS[parts[i]]
    return "".join(parts)


def nd_footer(rng, t, topic):
    other = rng.choice([x.domain for x in TOPICS if x is not topic])
    return t + f"\n\nThis post first appeared on {other} and is republished here with permission."


def nd_whitespace(rng, t, topic):
    t = t.replace(". ", ".  ").replace("\n\n", "\n \n\n")
    return "  " + t + "   \n"


def nd_truncated(rng, t, topic):
    return t.rsplit(" ", 1)[0] if rng.random() < 0.3 else re.sub(r"\s*[^.!?]*[.!?]$", "", t)


def nd_sentence_edit(rng, t, topic):
    sents = re.split(r"(?<=[.!?]) ", t)
    i = rng.randrange(1, len(sents) - 1)
    new = Filler(rng, topic.slots)(rng.choice([b for b in topic.body if b[:25] not in t]))
    sents[i] = new + ("\n\n" + sents[i].split("\n\n", 1)[1] if "\n\n" in sents[i] else "")
    return " ".join(sents)


def nd_typos(rng, t, topic):
    parts = re.split(r"(\W+)", t)
    idx = [i for i, w in enumerate(parts) if len(w) >= 6 and w.isalpha() and len(set(w)) > 3]
    for i in rng.sample(idx, 3):          # swap two adjacent letters in three words
        w = parts[i]
        k = rng.randrange(1, len(w) - 2)
        while w[k] == w[k + 1]:
            k = (k + 1) % (len(w) - 2) or 1
        parts[i] = w[:k] + w[k + 1] + w[k] + w[k + 2:]
    return "".join(parts)


def nd_header(rng, t, topic):
    return f"Updated {rng.randint(1, 28)} {rng.choice(SHARED_SLOTS['month'])} {rng.randint(2019, 2024)}\n\n" + t


def nd_nfkc_equivalent(rng, t, topic):
    t = t.replace("fi", "ﬁ").replace("fl", "ﬂ")
    return re.sub(r"\d", lambda m: fullwidth(m.group(0)), t)


def nd_lowercase(rng, t, topic):
    return t.lower()


NEAR_DUP_VARIANTS = [("word_swap", nd_word_swap), ("footer", nd_footer), ("whitespace_only", nd_whitespace),
                     ("truncated", nd_truncated), ("sentence_edit", nd_sentence_edit), ("typos", nd_typos),
                     ("date_header", nd_header), ("nfkc_equivalent", nd_nfkc_equivalent),
                     ("lowercased", nd_lowercase)]


# --------------------------------------------------------------------------
# Encyclopedia articles (Parquet source)
# --------------------------------------------------------------------------

PLACE_PRE = ["Alder", "Bram", "Cold", "Dun", "Elm", "Fen", "Gor", "Hart", "Ivy", "Kes", "Lark", "Mar",
             "Nor", "Oak", "Pen", "Quar", "Rath", "Stan", "Thorn", "Ul", "Wend", "Yar", "Ash", "Birch",
             "Crow", "Hazel", "Mill", "Raven", "Salt", "Wil"]
PLACE_SUF = ["brook", "by", "combe", "ford", "ham", "ley", "mere", "stead", "ton", "wick", "well",
             "worth", "field", "holt", "bury", "dale"]
RIVER_A = ["Or", "Tam", "Car", "Iv", "Bre", "Las", "Mar", "Ou", "Pen", "Saw", "Thra", "Wen", "Yel", "Ket", "Dor"]
RIVER_B = ["rin", "sel", "row", "el", "de", "dle", "nock", "ley", "an", "wy", "ish", "ent"]
REGIONS = ["the Vale of Orrin", "Harland", "Eastmarch", "North Tarrow", "the Wendlands", "Greymoor",
           "Upper Saltby", "the Kestrel Hills"]
FIRST_F = ["Agnes", "Margaret", "Elsbeth", "Harriet", "Léonie", "Agnès", "Renée", "Zoë", "Clara",
           "Edith", "Ruth", "Ingrid", "Maud", "Winifred"]
FIRST_M = ["Arthur", "Edmund", "Walter", "Josiah", "Søren", "José", "Henry", "Silas", "Thomas",
           "Bernard", "Ambrose", "Oswin", "Rupert", "Frederick"]
SURNAMES = ["Marrow", "Thistlewood", "Ashby", "Penhallow", "Crane", "Blackwell", "Fairbrother",
            "Holloway", "Kettleby", "Lindqvist", "Moreau", "Varga", "Whitcombe", "Quennell", "Dunmore",
            "Rook", "Sallow", "Tremayne", "Ellery", "Gaskin"]

ARTICLE_TYPES = {
    "settlement": {
        "lead": [
            "{name} is a {market town|small town|small market town|town and civil parish} in {region}, situated on the {north|south|east|west} bank of the River {river}.",
            "It lies about {dist} kilometres from {neighbour} and had a population of {pop} at the most recent census.",
            "The name is thought to derive from an old word for a {clearing|ford|spring|hill} and appears in several spellings in early documents.",
        ],
        "sections": [
            ("History", [
                "The settlement is first recorded in {founded} as a {farming hamlet|river crossing|small fishing community|stopping place on a drovers' route}.",
                "A charter granting the right to hold a weekly market was issued in {charter}.",
                "The town grew rapidly during the nineteenth century, when {industry} became the main source of employment.",
                "Much of the older centre was rebuilt after a serious fire in {fire}.",
                "The railway reached {name} in {railway}, linking it to {neighbour} and the coast.",
                "During the twentieth century the traditional industries declined, and many residents began to commute to {neighbour}.",
            ]),
            ("Geography", [
                "The town occupies a low ridge between the River {river} and a belt of wet meadows to the south.",
                "The surrounding countryside is mostly farmland, with small areas of ancient woodland on the higher ground.",
                "The river has flooded several times, most severely in {flood}, and new flood defences were completed in {defence}.",
                "The climate is mild and wet, with an average annual rainfall of about {rain} millimetres.",
            ]),
            ("Economy", [
                "The local economy is based on {industry2}, retail and tourism.",
                "A market is still held in the square every {weekday}.",
                "Several small businesses occupy the former {mill|tannery|brewery|rope works}, which was converted into workshops in the {1970s|1980s|1990s}.",
                "The largest employer is a {food processing plant|printing works|agricultural college|boatyard} on the edge of the town.",
            ]),
            ("Culture and community", [
                "The parish church of St {saint} dates largely from the fifteenth century and is a listed building.",
                "An annual {festival} takes place each {month} and attracts visitors from across the region.",
                "The town has a primary school, a library, a community hall and a football club founded in {club}.",
                "A small museum in the old {museum} displays objects relating to local history.",
            ]),
        ],
    },
    "river": {
        "lead": [
            "The River {name} is a river in {region}, about {length} kilometres long.",
            "It rises on {moor} and flows generally {direction} to join the {dest}.",
        ],
        "sections": [
            ("Course", [
                "Its source is a group of springs on open moorland at a height of about {alt} metres.",
                "In its upper reaches the river runs swiftly through a narrow wooded valley.",
                "Below {town1} the valley widens and the river meanders across a broad flood plain.",
                "It passes through {town1} and {town2} before reaching the {dest}.",
                "The main tributaries are the {trib1} Brook and the {trib2} Water.",
            ]),
            ("History", [
                "Mills along the river once ground corn and later powered small textile works.",
                "A stone bridge at {town1} dates from {bridge} and is still in use.",
                "The lower river was navigable by small barges until the {1880s|1900s|1920s}.",
                "Several fords are recorded in medieval documents, and one gave its name to {town2}.",
            ]),
            ("Ecology", [
                "The river supports populations of brown trout, and otters have returned in recent years.",
                "Parts of the valley are protected for their wet meadows and uncommon plants.",
                "Water quality improved markedly after the closure of several industrial sites.",
                "Kingfishers and dippers are frequently seen along the faster upper stretches.",
            ]),
        ],
    },
    "bird": {
        "lead": [
            "The {name} ({sci}) is a small passerine bird in the family {family}.",
            "It breeds in {habitat} across {region} and spends the winter further south.",
        ],
        "sections": [
            ("Description", [
                "Adults measure {len1} to {len2} centimetres in length and weigh around {mass} grams.",
                "The plumage is mostly {colour1} above and {colour2} below, with a distinctive {mark}.",
                "Males and females look similar, although the {mark} of the male is brighter in the breeding season.",
                "Young birds are duller and lack the {mark} until their first moult.",
            ]),
            ("Behaviour", [
                "It feeds mainly on insects, spiders and small seeds, foraging low in dense vegetation.",
                "The song is a rapid series of {notes} notes, often delivered from an exposed perch at dawn.",
                "Nests are built close to the ground and usually contain {eggs} eggs.",
                "Both parents feed the chicks, which leave the nest after about {fledge} days.",
            ]),
            ("Status", [
                "The species is currently listed as {status}, but numbers have fallen in places where wetlands were drained.",
                "Recent surveys suggest a breeding population of roughly {bpop} pairs.",
                "Ringing studies have shown that some individuals return to the same territory for several years.",
            ]),
        ],
    },
    "person": {
        "lead": [
            "{name} ({born}–{died}) was a {field} from {birthplace}, best known for {contribution}.",
            "{Pron} was among the first in the region to {first}.",
        ],
        "sections": [
            ("Early life", [
                "{name} was born in {birthplace}, the {nth} child of a {parent}.",
                "{Pron} showed an early interest in {interest} and attended the local grammar school.",
                "After studying at the college in {city}, {pron} worked for some years as a {early}.",
            ]),
            ("Career", [
                "In {y1} {pron} began a long series of observations that would occupy the rest of {pos} career.",
                "{Pron} published more than {papers} papers, the most cited of which described {contribution}.",
                "{Pron} was elected a fellow of the {society} in {y2}.",
                "Colleagues described {obj} as patient, exacting and generous with {pos} time.",
            ]),
            ("Later life and legacy", [
                "{name} retired to {birthplace} in {y3} and continued to correspond with younger colleagues.",
                "{Pron} died in {died}, and a {prize} was later named in {pos} honour.",
                "{Pos} notebooks are preserved in the county archive and remain a valuable source.",
            ]),
        ],
    },
    "dish": {
        "lead": [
            "{name} is a traditional {kind} from {region}, made with {ingr1}, {ingr2} and {ingr3}.",
            "It is usually served {serve}.",
        ],
        "sections": [
            ("History", [
                "The dish is first mentioned in a household book dated {year}.",
                "It was originally eaten by {people}, because the ingredients were cheap and kept well.",
                "Recipes changed little until the twentieth century, when {ingr4} began to be added.",
            ]),
            ("Preparation", [
                "The {ingr1} is cooked slowly for several hours before the other ingredients are added.",
                "Many families keep their own version of the recipe and rarely share it outside the household.",
                "Some cooks add a little {ingr4} at the end to brighten the flavour.",
                "It is traditionally prepared in a heavy earthenware dish that holds the heat well.",
            ]),
            ("Cultural significance", [
                "A festival celebrating the dish is held each {month} in {town}.",
                "It is closely associated with {occasion}, when it is shared among neighbours.",
                "Local bakeries and cafés sell it throughout the year, especially to visitors.",
            ]),
        ],
    },
    "building": {
        "lead": [
            "{name} is a {kindlow} near {town}, in {region}, completed in {built}.",
            "It is a listed structure and one of the best known landmarks in the area.",
        ],
        "sections": [
            ("History", [
                "It was commissioned by {patron} after {reason}.",
                "The original design was by the engineer {engineer}, who also worked on several harbours along the coast.",
                "The structure was extensively repaired in {repair} after storm damage.",
                "It remained in regular use until {closed}, when it was taken over by a preservation trust.",
            ]),
            ("Design", [
                "It is built of local {stone} with a slate roof and timber floors.",
                "The structure rises to a height of {height} metres and is visible for many kilometres.",
                "A narrow stair of {steps} steps leads to the upper level.",
            ]),
            ("Today", [
                "The building is open to visitors on summer weekends and hosts occasional exhibitions.",
                "Volunteers from {town} maintain the site and run guided tours.",
                "It appears on many postcards and is a popular subject for painters and photographers.",
            ]),
        ],
    },
}

BIRD_ADJ = [("Grey", "cinereus"), ("Rufous", "rufus"), ("Pale", "pallidus"), ("Ashy", "cinerascens"),
            ("Olive", "olivaceus"), ("Chestnut", "castaneus"), ("Dusky", "fuscus"), ("Streaked", "striatus"),
            ("Spotted", "maculatus"), ("Golden", "aureus")]
BIRD_PART = ["throated", "crowned", "backed", "winged", "breasted", "capped", "tailed", "browed"]
BIRD_BASE = [("fen warbler", "Paludicola", "Sylviidae"), ("reed bunting", "Calamiza", "Emberizidae"),
             ("moor pipit", "Ericanthus", "Motacillidae"), ("hill thrush", "Collicichla", "Turdidae"),
             ("marsh tit", "Paludiparus", "Paridae"), ("scrub robin", "Dumetulus", "Muscicapidae"),
             ("heath lark", "Ericalauda", "Alaudidae"), ("wood finch", "Silvifringa", "Fringillidae")]

FIELDS = {
    "astronomer": ("the first systematic catalogue of variable stars visible from the northern hills",
                   "build a public observatory", "the Royal Society of Observers", "minor planet"),
    "botanist": ("a survey of the wild orchids of the limestone valleys",
                 "publish a complete county flora", "the Linnean Circle", "species of saxifrage"),
    "civil engineer": ("the design of the Harland viaduct", "use reinforced concrete for a railway bridge",
                       "the Institution of Bridge Builders", "medal for structural design"),
    "meteorologist": ("fifty years of daily weather records from a single station",
                      "establish a network of volunteer rain gauges", "the Meteorological Guild", "weather station"),
    "ornithologist": ("a long study of migrating swallows", "organise a regional bird ringing scheme",
                      "the Society of Field Naturalists", "nature reserve"),
    "geologist": ("the first geological map of the Kestrel Hills", "describe the fossil beds of the coast",
                  "the Geological Fellowship", "fossil ammonite"),
    "cartographer": ("detailed maps of the old drovers' roads", "survey the county at six inches to the mile",
                     "the Geographical Union", "mountain hut"),
}

DISH_KINDS = ["pie", "broth", "buns", "pudding", "stew", "flatbread", "cake", "dumplings"]
DISH_DESC = {"pie": "savoury pie", "broth": "soup", "buns": "sweet bread", "pudding": "baked pudding",
             "stew": "one-pot dish", "flatbread": "griddle bread", "cake": "fruit cake",
             "dumplings": "boiled dish"}
DISH_INGR = ["mutton", "barley", "leeks", "apples", "oats", "smoked fish", "butter beans", "cheese",
             "honey", "dried plums", "potatoes", "caraway", "turnips", "cream", "ale", "bacon"]
BUILD_KINDS = ["Lighthouse", "Windmill", "Bridge", "Tower", "Viaduct", "Water Mill"]


class NameBank:
    def __init__(self, rng: random.Random):
        self.rng, self.used = rng, set()

    def _uniq(self, gen):
        for _ in range(1000):
            n = gen()
            if n not in self.used:
                self.used.add(n)
                return n
        raise RuntimeError("name space exhausted")

    def place(self):
        return self._uniq(lambda: self.rng.choice(PLACE_PRE) + self.rng.choice(PLACE_SUF))

    def river(self):
        return self._uniq(lambda: self.rng.choice(RIVER_A) + self.rng.choice(RIVER_B))


def article_bindings(rng: random.Random, kind: str, nb: NameBank) -> tuple[str, dict]:
    r = rng.randint
    b: dict[str, object] = {"region": [rng.choice(REGIONS)]}
    if kind == "settlement":
        name = nb.place()
        founded = r(950, 1250)
        b.update(name=name, river=nb.river(), dist=r(5, 40), neighbour=nb.place(),
                 pop=f"{r(800, 24000):,}", founded=founded, charter=founded + r(40, 200),
                 railway=r(1840, 1875), fire=r(1650, 1835), flood=r(1880, 1990), defence=r(1995, 2020),
                 rain=r(650, 1400), club=r(1880, 1925), saint=[rng.choice(["Mary", "Andrew", "Michael", "Peter", "Helen", "Oswald"])],
                 industry=[rng.choice(["wool weaving", "brick making", "tanning", "boat building", "brewing"])],
                 industry2=[rng.choice(["agriculture", "light engineering", "food production", "printing"])],
                 festival=[rng.choice(["music festival", "agricultural show", "lantern procession", "cheese fair", "river regatta"])],
                 museum=[rng.choice(["police station", "grammar school", "corn exchange", "toll house"])])
        title = name
    elif kind == "river":
        name = nb.river()
        b.update(name=name, length=r(15, 120), moor=[f"{nb.place()} Moor"],
                 direction=[rng.choice(["east", "south", "south-east", "north-east", "west"])],
                 dest=[rng.choice(["River " + nb.river(), "sea at " + nb.place(), "estuary of the " + nb.river()])],
                 alt=r(250, 600), town1=nb.place(), town2=nb.place(), trib1=nb.river(), trib2=nb.river(),
                 bridge=r(1350, 1750))
        title = f"River {name}"
    elif kind == "bird":
        while True:
            adj, base = rng.choice(BIRD_ADJ), rng.choice(BIRD_BASE)
            key = (adj[0], base[0])
            if key not in nb.used:
                nb.used.add(key)
                break
        name = f"{adj[0]}-{rng.choice(BIRD_PART)} {base[0]}"
        l1 = r(11, 18)
        b.update(name=name.lower(), sci=f"{base[1]} {adj[1]}", family=base[2],
                 habitat=[rng.choice(["reed beds and wet meadows", "open heathland", "upland moors", "scrub and woodland edges", "coastal marshes"])],
                 len1=l1, len2=l1 + r(1, 3), mass=r(9, 40),
                 colour1=[rng.choice(["olive brown", "grey", "warm brown", "dark slate"])],
                 colour2=[rng.choice(["pale buff", "white", "cream", "light grey"])],
                 mark=[rng.choice(["pale stripe above the eye", "dark patch on the throat", "chestnut cap", "white wing bar"])],
                 notes=[rng.choice(["high, thin", "liquid, rolling", "dry, scratchy", "clear, whistled"])],
                 eggs=f"{r(3, 4)} to {r(5, 6)}", fledge=r(10, 16),
                 status=[rng.choice(["of least concern", "near threatened", "locally uncommon"])],
                 bpop=f"{r(2, 90) * 100:,}")
        title = name
    elif kind == "person":
        fem = rng.random() < 0.5
        first = rng.choice(FIRST_F if fem else FIRST_M)
        name = nb._uniq(lambda: f"{first} {rng.choice(SURNAMES)}")
        field_ = rng.choice(sorted(FIELDS))
        contrib, first_, society, prize = FIELDS[field_]
        born = r(1790, 1900)
        died = born + r(55, 92)
        pron, pos, obj = ("she", "her", "her") if fem else ("he", "his", "him")
        b.update(name=name, born=born, died=died, field=field_, birthplace=nb.place(),
                 contribution=contrib, first=first_, society=society, prize=prize,
                 pron=pron, Pron=pron.capitalize(), pos=pos, Pos=pos.capitalize(), obj=obj,
                 nth=[rng.choice(["second", "third", "eldest", "youngest", "fourth"])],
                 parent=[rng.choice(["schoolteacher", "miller", "clockmaker", "farmer", "printer", "surveyor"])],
                 interest=[rng.choice(["the night sky", "wild flowers", "machines", "maps", "the weather", "birds", "rocks and fossils"])],
                 city=nb.place(), early=[rng.choice(["clerk", "tutor", "surveyor's assistant", "schoolteacher", "draughtsman"])],
                 y1=born + r(22, 30), y2=born + r(35, 50), y3=died - r(5, 15), papers=r(20, 140))
        title = f"{name} ({field_})" if rng.random() < 0.3 else name
    elif kind == "dish":
        town = nb.place()
        dk = rng.choice(DISH_KINDS)
        name = nb._uniq(lambda: f"{town} {dk}")
        ingr = rng.sample(DISH_INGR, 4)
        b.update(name=name, kind=DISH_DESC[dk],
                 ingr1=ingr[0], ingr2=ingr[1], ingr3=ingr[2], ingr4=ingr[3], town=town, year=r(1600, 1820),
                 serve=[rng.choice(["hot with bread", "cold with pickles", "warm with cream", "on feast days with a jug of ale"])],
                 people=[rng.choice(["farm workers", "fishing families", "miners", "shepherds"])],
                 occasion=[rng.choice(["the harvest festival", "the first market of the year", "midwinter", "weddings"])])
        title = name
    else:  # building
        town = nb.place()
        bk = rng.choice(BUILD_KINDS)
        name = nb._uniq(lambda: f"{town} {bk}")
        built = r(1750, 1910)
        b.update(name=name, kindlow=bk.lower(), town=town, built=built, repair=built + r(20, 90),
                 closed=r(1950, 1995), height=r(12, 45), steps=r(60, 220),
                 patron=[rng.choice(["the harbour commissioners", "a local landowner", "the county council", "a railway company"])],
                 reason=[rng.choice(["a series of shipwrecks", "the old crossing was washed away", "a long dispute over grain prices", "the arrival of the railway"])],
                 engineer=f"{rng.choice(FIRST_M)} {rng.choice(SURNAMES)}",
                 stone=[rng.choice(["granite", "sandstone", "limestone", "brick"])])
        title = name
    return title, b


def make_article(rng: random.Random, kind: str, nb: NameBank) -> tuple[str, str]:
    title, b = article_bindings(rng, kind, nb)
    lists = {k: v for k, v in b.items() if isinstance(v, list)}
    bound = {k: str(v) for k, v in b.items() if not isinstance(v, list)}
    f = Filler(rng, lists, bound)
    spec = ARTICLE_TYPES[kind]
    out = [" ".join(f(s) for s in spec["lead"])]
    secs = spec["sections"]
    keep = sorted(rng.sample(range(len(secs)), rng.randint(max(2, len(secs) - 1), len(secs))))
    for i in keep:
        head, sents = secs[i]
        chosen = sorted(rng.sample(range(len(sents)), rng.randint(2, len(sents))))
        out.append(head)
        out.append(" ".join(f(sents[j]) for j in chosen))
    return title, "\n\n".join(out)


# --------------------------------------------------------------------------
# Assembly
# --------------------------------------------------------------------------

WIKI_PLAN = [("settlement", 32), ("river", 15), ("bird", 22), ("person", 20), ("dish", 14), ("building", 13)]


def build_wiki() -> list[dict]:
    rng = R("wiki")
    nb = NameBank(rng)
    arts = []
    for kind, n in WIKI_PLAN:
        for _ in range(n):
            title, text = make_article(rng, kind, nb)
            arts.append({"title": title, "text": text, "kind": kind, "note": ""})
    # Two accented names stored in decomposed (NFD) form.
    nfd_done = 0
    for a in arts:
        if a["kind"] == "person" and unicodedata.normalize("NFD", a["title"]) != a["title"] and nfd_done < 2:
            a["text"] = unicodedata.normalize("NFD", a["text"])
            a["note"] = "text in NFD"
            nfd_done += 1
    # Two stubs.
    for _ in range(2):
        place = nb.place()
        arts.append({"title": place, "kind": "stub", "note": "stub",
                     "text": f"{place} is a small village in {rng.choice(REGIONS)}. This article is a stub."})
    # Two exact duplicates under an alternative title (like an un-merged redirect).
    for src in rng.sample([a for a in arts if a["kind"] == "settlement"], 2):
        arts.append({"title": src["title"] + " (town)", "text": src["text"], "kind": src["kind"],
                     "note": "duplicate", "dup_of": src})
    rng.shuffle(arts)
    for i, a in enumerate(arts, 1):
        a["id"] = f"wiki-{i:04d}"
        a["views"] = 3 if a["kind"] == "stub" else int(rng.lognormvariate(6.5, 1.4))
    return arts


@dataclass
class WebDoc:
    text: str
    kind: str
    variant: str = ""
    url: str = ""
    lang: str = "en"
    status: int = 200
    dup_of: object = None      # another WebDoc, or a wiki id string
    topic: Topic | None = None


CONTENT_FARMS = ["daily-content-hub.example", "blogroll-digest.example", "repost-central.example",
                 "best-articles-today.example"]


def build_web(wiki: list[dict]) -> list[WebDoc]:
    docs: list[WebDoc] = []
    used_urls: set[str] = set()

    def url_for(domain: str, slug: str, rng: random.Random, dated: bool = True) -> str:
        date = f"{rng.randint(2015, 2024)}/{rng.randint(1, 12):02d}/" if dated else ""
        base = f"https://{domain}/{date}{slug}"
        u, k = base, 2
        while u in used_urls:
            u, k = f"{base}-{k}", k + 1
        used_urls.add(u)
        return u

    # Good English prose: 14 topics x 13 docs.
    rng = R("good")
    good: list[WebDoc] = []
    for topic in TOPICS:
        for _ in range(13):
            title, text = make_prose(rng, topic)
            good.append(WebDoc(text, "good", topic.name, url_for(topic.domain, slugify(title), rng), topic=topic))
    docs += good

    # Boilerplate: prose wrapped in navigation/footer lines, and pages that are nothing but.
    rng = R("boilerplate")
    for _ in range(28):
        topic = rng.choice(TOPICS)
        title, text = make_boiler_wrapped(rng, topic)
        docs.append(WebDoc(text, "boilerplate", "wrapped", url_for(topic.domain, slugify(title), rng)))
    for _ in range(18):
        site = rng.choice(TOPICS).domain
        variant, text, status = make_boiler_pure(rng, site)
        path = (f"category/{rng.choice(BOILER_CATS).lower()}/page/{rng.randint(2, 40)}" if variant == "nav_only"
                else f"archive/{rng.randint(100, 9999)}.html")
        docs.append(WebDoc(text, "boilerplate", variant, url_for(site, path, rng, dated=False), status=status))

    # Spam.
    rng = R("spam")
    spam: list[WebDoc] = []
    for _ in range(40):
        variant, text = make_spam(rng)
        spam.append(WebDoc(text, "spam", variant, spam_url(rng)))
    docs += spam

    # Other languages (+ two mislabelled hints, + two mixed-language posts).
    rng = R("multilingual")
    foreign: list[WebDoc] = []
    for lang, n in LANG_DOCS.items():
        for _ in range(n):
            foreign.append(WebDoc(make_foreign(rng, lang), "multilingual", lang,
                                  url_for(LANG_DOMAINS[lang], f"{lang}/article-{rng.randint(100, 9999)}", rng),
                                  lang=lang))
    for d in rng.sample([d for d in foreign if d.lang in ("de", "es", "fr")], 2):
        d.lang = "en"      # crawler's language hint is wrong
        d.variant += "/wrong_hint"
    docs += foreign
    for other in ("fr", "ja"):
        title, en = make_prose(rng, TOPIC_BY_NAME["travel"], title=False, n_body=(4, 6))
        text = en + "\n\n" + make_foreign(rng, other)
        docs.append(WebDoc(text, "multilingual", f"mixed_en_{other}", url_for("slow-roads.example", slugify(title), rng),
                           lang="en"))

    # Odd Unicode.
    rng = R("unicode")
    for variant, fn, n in UNICODE_VARIANTS:
        for _ in range(n):
            topic = rng.choice(TOPICS)
            title, text = make_prose(rng, topic)
            docs.append(WebDoc(fn(rng, text), "odd_unicode", variant, url_for(topic.domain, slugify(title), rng)))

    # List/bullet-heavy pages.
    rng = R("lists")
    for _ in range(16):
        variant, domain, text = make_list_page(rng)
        docs.append(WebDoc(text, "list_heavy", variant, url_for(domain, slugify(text.split("\n", 1)[0]), rng)))

    # Very short docs, lorem ipsum, code.
    rng = R("misc")
    for variant, text in SHORT_DOCS:
        lang = "und" if not text.strip() or variant in ("emoji", "punct", "number", "keyboard") else "en"
        docs.append(WebDoc(text, "short", variant,
                           url_for(rng.choice(TOPICS).domain, f"p/{rng.randint(1000, 99999)}", rng, dated=False), lang=lang,
                           status=404 if "404" in text else 200))
    docs.append(WebDoc(make_lorem(rng, 4), "lorem_ipsum", "pure", url_for("theme-demo.example", "sample-page", rng), lang="la"))
    _, prose = make_prose(rng, TOPIC_BY_NAME["cooking"], title=True, n_body=(4, 5))
    docs.append(WebDoc(prose + "\n\n" + make_lorem(rng, 2), "lorem_ipsum", "placeholder_tail",
                       url_for("kitchen-notes.example", "draft", rng)))
    for variant, text in CODE_DOCS:
        docs.append(WebDoc(text, "code", variant, url_for("quiet-compiler.example", variant.replace("_", "-"), rng)))

    # Near duplicates of good docs (distinct sources).
    rng = R("near_dup")
    for i, src in enumerate(rng.sample(good, 27)):
        variant, fn = NEAR_DUP_VARIANTS[i % len(NEAR_DUP_VARIANTS)]
        docs.append(WebDoc(fn(rng, src.text, src.topic), "near_duplicate", variant,
                           url_for(rng.choice(CONTENT_FARMS), src.url.rsplit("/", 1)[1], rng), dup_of=src))

    # Exact duplicates: good (some twice), spam, foreign, and two copies of wiki articles.
    rng = R("exact_dup")

    def mirror(u: str) -> str:
        m = rng.randrange(4)
        if m == 0:
            return u + "?utm_source=newsletter&utm_medium=email"
        if m == 1:
            return u.replace("https://", "http://www.")
        if m == 2:
            return u.replace("https://", "https://amp.") + "/amp"
        return u.replace("https://", "https://mirror.").rstrip("/") + "/"

    srcs = rng.sample(good, 18)
    for src in srcs[:14]:
        docs.append(WebDoc(src.text, "exact_duplicate", "good", mirror(src.url), dup_of=src))
    for src in srcs[14:]:   # the same URL fetched again in a later crawl
        docs.append(WebDoc(src.text, "exact_duplicate", "good_recrawl", src.url, dup_of=src))
    for src in rng.sample(spam, 3):
        docs.append(WebDoc(src.text, "exact_duplicate", "spam", spam_url(rng), dup_of=src))
    for src in rng.sample(foreign, 2):
        docs.append(WebDoc(src.text, "exact_duplicate", "multilingual", mirror(src.url), lang=src.lang, dup_of=src))
    for art in rng.sample([a for a in wiki if a["kind"] in ("settlement", "river", "bird") and not a.get("dup_of")], 2):
        docs.append(WebDoc(art["text"], "exact_duplicate", "cross_source_wiki",
                           f"https://wiki-mirror.example/wiki/{art['title'].replace(' ', '_')}", dup_of=art["id"]))
    return docs


def iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


CRAWLS = [("CC-SAMPLE-2024-10", datetime(2024, 2, 26, tzinfo=timezone.utc)),
          ("CC-SAMPLE-2024-22", datetime(2024, 5, 20, tzinfo=timezone.utc))]


def web_records(docs: list[WebDoc]) -> list[list[dict]]:
    rng = R("web-order")
    rng.shuffle(docs)
    ids = {id(d): f"web-{i:05d}" for i, d in enumerate(docs, 1)}
    half = (len(docs) + 1) // 2
    parts: list[list[dict]] = [[], []]
    for i, d in enumerate(docs):
        p = 0 if i < half else 1
        crawl, start = CRAWLS[p]
        ts = start + timedelta(seconds=rng.randint(0, 14 * 86400))
        dup = d.dup_of if isinstance(d.dup_of, str) else (ids[id(d.dup_of)] if d.dup_of else "")
        parts[p].append({
            "id": ids[id(d)],
            "text": d.text,
            "url": d.url,
            "lang_hint": d.lang,
            "timestamp": iso(ts),
            "meta": {"crawl": crawl, "http_status": d.status, "kind": d.kind,
                     "variant": d.variant, "dup_of": dup},
        })
    return parts


# --------------------------------------------------------------------------
# Writers (byte-stable)
# --------------------------------------------------------------------------

def write_jsonl_zst(path: str, records: list[dict]) -> None:
    import zstandard
    raw = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    # Single-threaded, fixed level, content size + checksum in the frame header: stable bytes.
    data = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=True, write_content_size=True,
                                    threads=0).compress(raw)
    with open(path, "wb") as fh:
        fh.write(data)


def write_parquet(path: str, arts: list[dict]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    schema = pa.schema([
        pa.field("id", pa.string(), nullable=False),
        pa.field("title", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("views", pa.int64(), nullable=False),
    ])
    table = pa.table({
        "id": [a["id"] for a in arts],
        "title": [a["title"] for a in arts],
        "text": [a["text"] for a in arts],
        "views": [a["views"] for a in arts],
    }, schema=schema)
    buf = io.BytesIO()
    # Every knob that affects bytes is pinned; store_schema=False keeps the pyarrow-specific
    # ARROW:schema blob out of the footer (only `created_by` names the writer version).
    pq.write_table(
        table, buf,
        row_group_size=PARQUET_ROW_GROUP,
        compression="zstd", compression_level=PARQUET_ZSTD_LEVEL,
        use_dictionary=False, write_statistics=True,
        version="2.6", data_page_version="1.0", data_page_size=64 * 1024,
        store_schema=False, write_page_index=False, write_page_checksum=False,
        use_byte_stream_split=False,
    )
    with open(path, "wb") as fh:
        fh.write(buf.getvalue())


def main() -> int:
    wiki = build_wiki()
    docs = build_web(wiki)
    parts = web_records(docs)
    os.makedirs(WEB_DIR, exist_ok=True)
    os.makedirs(WIKI_DIR, exist_ok=True)
    for i, recs in enumerate(parts):
        write_jsonl_zst(os.path.join(WEB_DIR, f"part-{i:05d}.jsonl.zst"), recs)
    write_parquet(os.path.join(WIKI_DIR, "articles-00000.parquet"), wiki)

    counts: dict[str, int] = {}
    for recs in parts:
        for r in recs:
            counts[r["meta"]["kind"]] = counts.get(r["meta"]["kind"], 0) + 1
    print(f"web:  {sum(len(p) for p in parts)} docs in {len(parts)} files "
          f"({', '.join(str(len(p)) for p in parts)})")
    for k in sorted(counts):
        print(f"  {k:16s} {counts[k]}")
    print(f"wiki: {len(wiki)} articles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
