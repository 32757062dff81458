// Boot: one App for the page. Nothing else runs at module level.
import { App } from './app.js';

new App(document.getElementById('app')).start();
